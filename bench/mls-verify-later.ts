/**
 * What deferring the signature check buys when a page of messages is opened
 * (issue #11 target 5; MlsGroup.decrypt's `verifyLater`). One member seals
 * --messages 1 KiB texts; the other opens them, alternating two ways, in
 * --rounds rounds:
 *   - `awaited`: each decrypt checks its signature before the next starts
 *     (one thread, the catch-up path before 1b5eba8);
 *   - `deferred`: pages of --page messages opened with `verifyLater`, the
 *     checks running on a worker thread meanwhile (verify-pool.ts), `verifyPending()`
 *     awaited at the end of each page.
 * For each: messages/s of wall time and µs of this thread per message (event
 * loop utilisation), median round. Sealing is outside the measured window.
 *
 *   npx tsx bench/mls-verify-later.ts [--messages 2000] [--page 200] [--rounds 5]
 *
 * Progress goes to stderr; exactly one JSON line goes to stdout.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { MlsGroup } from '../packages/client/src/e2ee/index.js';
import { UsageError, num, parseFlags, runBench } from './args.js';
import { twoMemberGroup } from './mls-pairs.js';

const USAGE = 'usage: npx tsx bench/mls-verify-later.ts [--messages 2000] [--page 200] [--rounds 5]';
const log = (msg: string): void => void process.stderr.write(`[mls-verify-later] ${msg}\n`);
const MESSAGE_BYTES = 1024;

interface Figure {
  readonly messagesPerSecond: number;
  readonly threadUsPerMessage: number;
}

async function openAll(reader: MlsGroup, bodies: readonly Uint8Array[], page: number | undefined): Promise<Figure> {
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  if (page === undefined) {
    for (const body of bodies) await reader.decrypt(body);
  } else {
    for (let i = 0; i < bodies.length; i += page) {
      for (const body of bodies.slice(i, i + page)) await reader.decrypt(body, { verifyLater: true });
      if (!(await reader.verifyPending())) throw new Error('a signature check failed');
    }
  }
  const ms = performance.now() - started;
  const used = performance.eventLoopUtilization(elu);
  return { messagesPerSecond: Math.round((bodies.length / ms) * 1000), threadUsPerMessage: Math.round((used.active * 1000 * 10) / bodies.length) / 10 };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['messages', 'page', 'rounds']);
  const messages = num(flags, 'messages', 2000, 10, 1_000_000, true);
  const page = num(flags, 'page', 200, 2, 100_000, true);
  const rounds = num(flags, 'rounds', 5, 1, 100, true);
  if (page > messages) throw new UsageError(`--page (${page}) must not exceed --messages (${messages})`);
  const [sender, reader] = await twoMemberGroup('fast', 0);
  const seal = async (): Promise<Uint8Array[]> => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < messages; i++) out.push(await sender.encrypt(randomBytes(MESSAGE_BYTES)));
    return out;
  };
  await openAll(reader, await seal(), undefined); // warm-up: JIT and key caches
  const awaited: Figure[] = [];
  const deferred: Figure[] = [];
  for (let r = 0; r < rounds; r++) {
    awaited.push(await openAll(reader, await seal(), undefined));
    deferred.push(await openAll(reader, await seal(), page));
    log(`round ${r + 1}/${rounds}: awaited ${awaited[r]!.messagesPerSecond}/s, deferred ${deferred[r]!.messagesPerSecond}/s`);
  }
  const summary = (fs: readonly Figure[]) => ({
    messagesPerSecond: median(fs.map((f) => f.messagesPerSecond)),
    threadUsPerMessage: median(fs.map((f) => f.threadUsPerMessage)),
    rounds: fs.map((f) => f.messagesPerSecond),
  });
  const a = summary(awaited);
  const d = summary(deferred);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'mls-verify-later',
      messages,
      page,
      messageBytes: MESSAGE_BYTES,
      awaited: a,
      deferred: d,
      speedup: Math.round((d.messagesPerSecond / a.messagesPerSecond) * 100) / 100,
      threadUsSaved: Math.round((a.threadUsPerMessage - d.threadUsPerMessage) * 10) / 10,
      node: process.version,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10),
      date: new Date().toISOString(),
    })}\n`,
  );
}

runBench('mls-verify-later', USAGE, main);
