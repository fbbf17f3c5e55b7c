/**
 * Hostile-input fuzzing against a real server (PGlite, port 0): frames after
 * hello, first frames on fresh sockets, and HTTP requests to every endpoint,
 * plus the pure frame decoders over many more random inputs. Every answer is
 * checked (typed errors only, no 5xx, no hang, the socket still answers a
 * ping, refused requests change nothing), and afterwards a normal user must
 * still register, open a DM, send and receive.
 *
 *   npx tsx bench/fuzz.ts [--cases 100000] [--seed 1] [--decoder 1000000] [--oversized 1]
 *
 * Progress goes to stderr; one JSON line goes to stdout:
 * {cases, frames, http, failures, by_code, duration_s, ...}.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { TidingsError, decodeClientFrame, decodeServerFrame, isErrorCode } from '@tidings/shared';
import { DEFAULTS, startServer } from '@tidings/sync-server';
import { UsageError, num, parseFlags } from './args.js';
import { checkDecoder, hostileFrameArb, hostileServerBytesArb } from '../packages/sync-server/test/support/fuzz-frames.js';
import { allRoutes } from '../packages/sync-server/test/support/fuzz-http.js';
import {
  failureKey,
  generate,
  hitsKnownBug,
  knownBugOf,
  knownBugRepro,
  newStats,
  normalUserWorks,
  runFrames,
  runHellos,
  runHttp,
  setupWorld,
  type FuzzStats,
} from '../packages/sync-server/test/support/fuzz-run.js';

const USAGE = 'usage: npx tsx bench/fuzz.ts [--cases 100000] [--seed 1] [--decoder 1000000] [--oversized 0|1]';

async function main(): Promise<void> {
  let flags: Map<string, string>;
  try {
    flags = parseFlags(process.argv.slice(2), ['cases', 'seed', 'decoder', 'oversized']);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (flags.has('help')) {
    console.error(USAGE);
    return;
  }
  const total = num(flags, 'cases', 100_000, 10, 100_000_000, true);
  const seed = num(flags, 'seed', 1, 0, 2 ** 31 - 1, true);
  const decoderRuns = num(flags, 'decoder', 1_000_000, 0, 1_000_000_000, true);
  const oversized = num(flags, 'oversized', 1, 0, 1, true) === 1;
  const t0 = performance.now();
  const log = (msg: string) => console.error(`[fuzz ${((performance.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

  // A server-side crash surfaces here instead of killing the run; it is a failure.
  const stats: FuzzStats = newStats();
  const crashes: string[] = [];
  process.on('unhandledRejection', (err) =>
    crashes.push(`unhandledRejection: ${err instanceof Error ? err.stack?.split('\n').slice(0, 4).join(' | ') : String(err)}`),
  );
  process.on('uncaughtException', (err) => crashes.push(`uncaughtException: ${err.stack?.split('\n').slice(0, 4).join(' | ')}`));

  // 1. The pure decoders over many random and mutated inputs.
  const isTyped = (e: unknown): e is TidingsError => e instanceof TidingsError && isErrorCode(e.code);
  const decoder = { runs: 0, violations: [] as string[], decoded: 0 };
  if (decoderRuns > 0) {
    const gens = [
      { arb: fc.uint8Array({ maxLength: 96 }), decode: decodeClientFrame },
      { arb: hostileFrameArb(undefined, { text: false }).map((f) => f.data as Uint8Array), decode: decodeClientFrame },
      { arb: fc.uint8Array({ maxLength: 96 }), decode: decodeServerFrame },
      { arb: hostileServerBytesArb(), decode: decodeServerFrame },
    ];
    const chunk = 50_000;
    for (let done = 0; done < decoderRuns; done += chunk) {
      const g = gens[(done / chunk) % gens.length]!;
      for (const bytes of fc.sample(g.arb, { numRuns: Math.min(chunk, decoderRuns - done), seed: seed + done })) {
        const r = checkDecoder(g.decode as never, isTyped, bytes);
        decoder.runs++;
        if ('violation' in r) {
          if (decoder.violations.length < 20) decoder.violations.push(r.violation);
        } else if (r.ok) decoder.decoded++;
      }
      log(`decoder: ${decoder.runs}/${decoderRuns} inputs, ${decoder.violations.length} violations`);
    }
  }

  // 2. A real server.
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tidings-fuzz-'));
  const server = await startServer(
    // Rate limits off: this measures input handling, not the per-address limiter (which would answer most cases with 429).
    Object.assign({}, DEFAULTS, {
      port: 0,
      host: '127.0.0.1',
      dataDir,
      databaseUrl: undefined,
      redisUrl: undefined,
      logLevel: process.env.FUZZ_LOG_LEVEL ?? 'silent',
      rateLimit: false,
    }),
  );
  log(`server on ${server.url}`);
  try {
    const world = await setupWorld(server.url);
    const { specs, discovered } = allRoutes(path.resolve(import.meta.dirname, '../packages/sync-server/src'));
    log(
      `${specs.length} routes (${discovered.length} found in the sources beyond the catalogue, fuzzed generically: ${discovered.join(', ')})`,
    );
    // Mix: ~45% post-hello frames, ~10% first frames, ~45% HTTP; run in rounds so progress is visible.
    const rounds = Math.max(1, Math.ceil(total / 10_000));
    for (let round = 0; round < rounds; round++) {
      const n = Math.min(10_000, total - round * 10_000);
      const mix = { seed, frames: Math.round(n * 0.45), hellos: Math.round(n * 0.1), http: 0, oversized: oversized && round === 0 };
      const gen = generate(world, { ...mix, http: n - mix.frames - mix.hellos }, round * 7919, specs);
      await runFrames(world, server.db, gen.frames, stats, {
        lanes: 8,
        skip: hitsKnownBug,
        onProgress: (d) => d % 2000 === 0 && log(`round ${round + 1}/${rounds}: frames ${d}/${gen.frames.length}`),
      });
      await runHellos(world, gen.hellos, stats, { concurrency: 16, skip: hitsKnownBug });
      await runHttp(world, server.db, gen.http, stats, {
        concurrency: 16,
        onProgress: (d) => d % 2000 < 16 && log(`round ${round + 1}/${rounds}: http ${d}/${gen.http.length}`),
      });
      log(`round ${round + 1}/${rounds} done: ${stats.cases} cases, ${stats.failures.length} failures, ${crashes.length} crashes`);
    }
    const crashesInRun = crashes.length;
    const knownBug = await knownBugRepro(server.url, server.db).catch((err: unknown) => `repro failed: ${(err as Error).message}`);
    if (knownBug) console.error(`KNOWN BUG-1 (invalid UTF-8 clientMsgId) still reproduces: ${knownBug}`);
    // Give a crash from the repro a moment to surface.
    await new Promise((r) => setTimeout(r, 200));
    crashes.splice(crashesInRun); // the repro's own crash is reported as the known bug, not counted again
    let afterwards = 'ok';
    try {
      await normalUserWorks(server.url);
    } catch (err) {
      afterwards = (err as Error).message;
    }
    const byCode = Object.fromEntries(Object.entries(stats.by_code).sort(([a], [b]) => a.localeCompare(b)));
    const failures = (stats.by_code.failures ?? 0) + crashes.length + decoder.violations.length + (afterwards === 'ok' ? 0 : 1);
    // Failures, grouped, on stderr (the repro of the first of each kind).
    const groups = new Map<string, { n: number; first: (typeof stats.failures)[number] }>();
    for (const f of stats.failures) {
      const key = failureKey(f);
      const g = groups.get(key);
      if (g) g.n++;
      else groups.set(key, { n: 1, first: f });
    }
    const known: Record<string, number> = {};
    for (const f of stats.failures) {
      const k = knownBugOf(f) ?? 'new';
      known[k] = (known[k] ?? 0) + 1;
    }
    for (const [key, g] of groups)
      console.error(`FAILURE x${g.n} ${key}\n  kind: ${g.first.kind}\n  detail: ${g.first.detail}\n  repro: ${g.first.repro}`);
    for (const c of crashes.slice(0, 10)) console.error(`CRASH ${c}`);
    for (const v of decoder.violations) console.error(`DECODER ${v}`);
    if (afterwards !== 'ok') console.error(`AFTERWARDS ${afterwards}`);
    console.log(
      JSON.stringify({
        cases: stats.cases,
        frames: stats.frames,
        http: stats.http,
        failures,
        by_code: byCode,
        duration_s: Number(((performance.now() - t0) / 1000).toFixed(1)),
        decoder_inputs: decoder.runs,
        decoder_decoded: decoder.decoded,
        decoder_violations: decoder.violations.length,
        crashes: crashes.length,
        failure_kinds: groups.size,
        kept_failures_by_bug: known,
        known_bug_utf8_client_msg_id: knownBug ?? 'fixed',
        normal_user_afterwards: afterwards,
        seed,
      }),
    );
    process.exitCode = failures > 0 ? 1 : 0;
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
