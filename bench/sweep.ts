/**
 * Capacity sweep: runs bench/load.ts at increasing offered rates, each step a
 * child process with a fresh target (and a fresh database), for the relay and
 * the server in the same run, and reports the highest rate that kept
 * p99 < --max-p99 ms with zero loss, plus the ratio server/relay. A ladder
 * stops at its first failing rate (a failing step is rerun --retries times
 * first, since the machine is shared and one stall fails a short step), then
 * bisects between the last pass and the first failure --refine times.
 *
 *   npx tsx bench/sweep.ts [--targets relay,server] [--store postgres|pglite] [--pairs 50]
 *     [--size 1024] [--step-duration 5] [--warmup 1] [--rates 500,1000,2000,...] [--max-p99 100] [--refine 2] [--retries 1]
 *
 * Progress goes to stderr; exactly one JSON line goes to stdout.
 */
import os from 'node:os';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UsageError, choice, num, parseFlags } from './args.js';
import type { LoadResult } from './load.js';

const USAGE = `usage: tsx bench/sweep.ts [--targets relay,server] [--store postgres|pglite] [--pairs N] [--size BYTES]
                          [--step-duration S] [--warmup S] [--rates R1,R2,...] [--max-p99 MS] [--refine N] [--retries N]`;
const DEFAULT_RATES = [500, 1000, 2000, 4000, 8000, 16000, 32000];

interface SweepOptions {
  readonly targets: ('relay' | 'server')[];
  readonly store: 'pglite' | 'postgres';
  readonly pairs: number;
  readonly size: number;
  readonly stepS: number;
  readonly warmupS: number;
  readonly rates: number[];
  readonly maxP99: number;
  readonly refine: number;
  /** Reruns of a failing step before it counts as failed (the machine is noisy). */
  readonly retries: number;
}

function parseArgs(argv: readonly string[]): SweepOptions | 'help' {
  const f = parseFlags(argv, ['targets', 'store', 'pairs', 'size', 'step-duration', 'warmup', 'rates', 'max-p99', 'refine', 'retries']);
  if (f.has('help')) return 'help';
  const targets = (f.get('targets') ?? 'relay,server').split(',');
  if (targets.length === 0 || targets.some((t) => t !== 'relay' && t !== 'server') || new Set(targets).size !== targets.length) {
    throw new UsageError(`--targets must be a comma list of relay and/or server, got ${JSON.stringify(f.get('targets'))}`);
  }
  let rates = DEFAULT_RATES;
  const rawRates = f.get('rates');
  if (rawRates !== undefined) {
    rates = rawRates.split(',').map(Number);
    if (rates.length === 0 || rates.length > 30 || rates.some((r) => !Number.isFinite(r) || r <= 0 || r > 200_000) || rates.some((r, i) => i > 0 && r <= rates[i - 1]!)) {
      throw new UsageError(`--rates must be 1..30 increasing numbers in (0, 200000], got ${JSON.stringify(rawRates)}`);
    }
  }
  return {
    targets: targets as ('relay' | 'server')[],
    store: choice(f, 'store', ['pglite', 'postgres'] as const, 'postgres'),
    pairs: num(f, 'pairs', 50, 1, 5000, true),
    size: num(f, 'size', 1024, 12, 512 * 1024, true),
    stepS: num(f, 'step-duration', 5, 1, 600),
    warmupS: num(f, 'warmup', 1, 0, 60),
    rates,
    maxP99: num(f, 'max-p99', 100, 1, 60_000),
    refine: num(f, 'refine', 2, 0, 6, true),
    retries: num(f, 'retries', 1, 0, 3, true),
  };
}

const log = (line: string) => process.stderr.write(`[sweep] ${line}\n`);
const loadPath = fileURLToPath(new URL('./load.ts', import.meta.url));

/** One load run in a child process (same node and tsx loader as this one). */
function runStep(o: SweepOptions, target: 'relay' | 'server', rate: number): Promise<LoadResult | { error: string }> {
  const args = [loadPath, '--target', target, '--pairs', String(o.pairs), '--rate', String(rate), '--duration', String(o.stepS), '--warmup', String(o.warmupS), '--size', String(o.size)];
  if (target === 'server') args.push('--store', o.store);
  const child = spawn(process.execPath, [...process.execArgv, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errTail = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    const s = d.toString();
    errTail = (errTail + s).slice(-4000);
    process.stderr.write(s.replace(/^(?=.)/gm, `  ${target}@${rate} `));
  });
  const budgetMs = (240 + o.warmupS + o.stepS + 30) * 1000;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log(`${target}@${rate}: no result within ${budgetMs / 1000} s; stopping that child (pid ${child.pid})`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    }, budgetMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(line) as LoadResult);
      } catch (err) {
        resolve({ error: `${(err as Error).message}; stderr tail: ${errTail.trim().split('\n').slice(-3).join(' | ')}` });
      }
    });
  });
}

interface Step {
  readonly rate: number;
  readonly pass: boolean;
  readonly why: string;
  /** Runs it took (a failing step is retried --retries times; the last run is reported). */
  readonly attempts?: number;
  readonly delivered_per_s?: number;
  readonly p50_ms?: number | null;
  readonly p99_ms?: number | null;
  readonly max_ms?: number | null;
  readonly acks_p99_ms?: number | null;
  readonly lost?: number;
  readonly duplicates?: number;
  readonly errors?: Record<string, number>;
  readonly gen_lag_p99_ms?: number | null;
  readonly gen_elu?: number;
  readonly target_elu?: number | null;
  readonly target_eld_max_ms?: number | null;
  readonly process_rss_peak_mb?: number | null;
  readonly cpu?: LoadResult['cpu'];
}

function judge(o: SweepOptions, rate: number, r: LoadResult | { error: string }): Step {
  if ('error' in r) return { rate, pass: false, why: `run failed: ${r.error}` };
  const problems = [];
  if (r.p99_ms === null || r.p99_ms >= o.maxP99) problems.push(`p99 ${r.p99_ms} ms`);
  if (r.lost > 0) problems.push(`lost ${r.lost}`);
  if (r.duplicates > 0) problems.push(`duplicates ${r.duplicates}`);
  return {
    rate,
    pass: problems.length === 0,
    why: problems.join(', ') || 'ok',
    delivered_per_s: r.delivered_per_s,
    p50_ms: r.p50_ms,
    p99_ms: r.p99_ms,
    max_ms: r.max_ms,
    acks_p99_ms: r.acks_p99_ms,
    lost: r.lost,
    duplicates: r.duplicates,
    errors: r.errors,
    gen_lag_p99_ms: r.gen_lag_p99_ms,
    gen_elu: r.gen_elu,
    target_elu: r.target_elu,
    target_eld_max_ms: r.target_eld_max_ms,
    process_rss_peak_mb: r.process_rss_peak_mb,
    cpu: r.cpu,
  };
}

async function ladder(o: SweepOptions, target: 'relay' | 'server') {
  const steps: Step[] = [];
  const step = async (rate: number) => {
    let s: Step | undefined;
    for (let attempt = 0; attempt <= o.retries && !s?.pass; attempt++) {
      log(`${target}: offering ${rate} msg/s${attempt > 0 ? ` (retry ${attempt}: ${s?.why})` : ''}`);
      s = { ...judge(o, rate, await runStep(o, target, rate)), attempts: attempt + 1 };
    }
    if (!s) throw new Error('unreachable');
    steps.push(s);
    log(`${target}@${rate}: ${s.pass ? 'PASS' : 'FAIL'} (${s.why}; p50 ${s.p50_ms ?? '-'} ms, p99 ${s.p99_ms ?? '-'} ms, delivered ${s.delivered_per_s ?? '-'}/s, gen lag p99 ${s.gen_lag_p99_ms ?? '-'} ms, target ELU ${s.target_elu ?? '-'}${s.cpu ? `, cores: machine ${s.cpu.machine_cores}, postgres ${s.cpu.postgres_cores}` : ''})`);
    return s.pass;
  };
  let best: number | null = null;
  let firstFail: number | null = null;
  for (const rate of o.rates) {
    if (await step(rate)) best = rate;
    else {
      firstFail = rate;
      break;
    }
  }
  // Bisect between the last pass (or 0) and the first failure.
  if (firstFail !== null) {
    let lo = best ?? 0;
    let hi = firstFail;
    for (let i = 0; i < o.refine && hi - lo > Math.max(1, lo * 0.1); i++) {
      const mid = Math.round(lo === 0 ? hi / 2 : Math.sqrt(lo * hi));
      if (await step(mid)) lo = best = mid;
      else hi = mid;
    }
  }
  const fails = steps.filter((s) => !s.pass).map((s) => s.rate);
  const reason = fails.length === 0 ? 'every offered rate passed (the true limit is higher)' : `lowest failing rate ${Math.min(...fails)} msg/s`;
  return { max_rate: best, limit: reason, steps: steps.sort((a, b) => a.rate - b.rate) };
}

let opts: SweepOptions | 'help';
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`bench/sweep.ts: ${err.message}\n${USAGE}\n`);
  process.exit(2);
}
if (opts === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const started = Date.now();
const results: Record<string, Awaited<ReturnType<typeof ladder>>> = {};
for (const t of opts.targets) results[t] = await ladder(opts, t);
const relayMax = results.relay?.max_rate ?? null;
const serverMax = results.server?.max_rate ?? null;
const summary = {
  bench: 'sweep',
  store: opts.targets.includes('server') ? opts.store : null,
  pairs: opts.pairs,
  size: opts.size,
  step_duration_s: opts.stepS,
  warmup_s: opts.warmupS,
  max_p99_ms: opts.maxP99,
  relay_max_rate: relayMax,
  server_max_rate: serverMax,
  ratio_server_over_relay: relayMax && serverMax !== null ? Math.round((serverMax / relayMax) * 1000) / 1000 : null,
  relay: results.relay ?? null,
  server: results.server ?? null,
  node: process.version,
  cpus: os.availableParallelism(),
  date: new Date().toISOString(),
  elapsed_s: Math.round((Date.now() - started) / 1000),
};
log(`relay max ${relayMax ?? '-'} msg/s, server max ${serverMax ?? '-'} msg/s, ratio ${summary.ratio_server_over_relay ?? '-'}`);
process.stdout.write(`${JSON.stringify(summary)}\n`);
