/**
 * Runs the system under test: the Tidings sync server (PGlite or Postgres)
 * or the bare relay. Used inside the target worker thread (default), or on
 * the benchmark's own thread with --thread main.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { DEFAULTS, startServer } from '@tidings/sync-server';
import { startRelay } from './relay.js';

export interface TargetSpec {
  readonly kind: 'server' | 'relay';
  /** For the server: data directory (PGlite lives under it) and Postgres URL, if any. */
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
}

export interface TargetStats {
  /** Event-loop utilization of the target's thread since mark() (0..1). */
  readonly elu: number | null;
  /** Event-loop delay p99 / max on the target's thread since mark(), ms. */
  readonly eld_p99_ms: number | null;
  readonly eld_max_ms: number | null;
  /** Peak V8 heap of the target's thread and process RSS seen by its sampler, MiB. */
  readonly heap_peak_mb: number;
  readonly rss_peak_mb: number;
  /** Relay only: messages dropped for lack of a connected target. */
  readonly relay_dropped: number | null;
}

export interface HostedTarget {
  /** http:// for the server, ws:// for the relay. */
  readonly url: string;
  mark(): void;
  stats(): TargetStats;
  close(): Promise<void>;
}

export async function hostTarget(spec: TargetSpec, measureLoop: boolean): Promise<HostedTarget> {
  let url: string;
  let closeTarget: () => Promise<void>;
  let dropped: (() => number) | undefined;
  if (spec.kind === 'relay') {
    const relay = await startRelay(0);
    url = relay.url;
    closeTarget = relay.close;
    dropped = relay.dropped;
  } else {
    // Single node: no Redis. Built as a variable (not a literal argument) so it also
    // type-checks against a ServerConfig without redisUrl.
    // Load from one address at rates no person sends: the abuse limits are off for benchmarks.
    const config = { ...DEFAULTS, port: 0, host: '127.0.0.1', dataDir: spec.dataDir, databaseUrl: spec.databaseUrl, redisUrl: undefined, logLevel: 'silent', rateLimit: false };
    const server = await startServer(config);
    url = server.url;
    closeTarget = server.close;
  }
  let heapPeak = 0;
  let rssPeak = 0;
  const sample = () => {
    const m = process.memoryUsage();
    heapPeak = Math.max(heapPeak, m.heapUsed);
    rssPeak = Math.max(rssPeak, m.rss);
  };
  sample();
  const sampler = setInterval(sample, 250);
  sampler.unref();
  let elu: EventLoopUtilization | undefined;
  const eld = measureLoop ? monitorEventLoopDelay({ resolution: 5 }) : undefined;
  const mb = (b: number) => Math.round(b / 1048576);
  return {
    url,
    mark() {
      elu = performance.eventLoopUtilization();
      eld?.reset();
      eld?.enable();
      heapPeak = rssPeak = 0;
      sample();
    },
    stats() {
      sample();
      const u = measureLoop && elu ? performance.eventLoopUtilization(elu).utilization : null;
      const round = (v: number) => Math.round(v * 100) / 100;
      return {
        elu: u === null ? null : round(u),
        eld_p99_ms: eld && eld.count > 0 ? round(eld.percentile(99) / 1e6) : null,
        eld_max_ms: eld && eld.count > 0 ? round(eld.max / 1e6) : null,
        heap_peak_mb: mb(heapPeak),
        rss_peak_mb: mb(rssPeak),
        relay_dropped: dropped ? dropped() : null,
      };
    },
    async close() {
      clearInterval(sampler);
      eld?.disable();
      await closeTarget();
    },
  };
}
