/**
 * Convergent-state benchmark: local document size and load time after 10,000
 * operations, with compaction (the compacted state the replica stores, Yjs
 * gc on) and without (the log of every update, replayed on load), and what
 * the compacted state would weigh without Yjs gc.
 *
 *   npx tsx bench/crdt.ts [--ops 10000] [--loads 5]
 *
 * Workloads: `toggles` (one message, 3 users toggling 3 reactions) and
 * `mixed` (50 messages: 70% reaction toggles, 10% pin/unpin, 10% edits,
 * 10% group renames). Progress goes to stderr; one JSON line to stdout.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { EntryType, MAX_ENTRIES_PER_PAGE, type ConversationId, type DeviceId, type Entry, type EntryId, type UserId } from '@tidings/shared';
import * as Y from 'yjs';
import { StateLayer, LOCAL, type LoadedDoc } from '../packages/client/src/state/index.js';
import { snapshotData } from '../packages/client/src/state/state-layer.js';
import { systemClock } from '../packages/client/src/runtime/clock.js';
import { MemoryStateStore } from '../packages/client/test/support/state-sim.js';
import { UsageError, num, parseFlags } from './args.js';

const log = (msg: string): void => void process.stderr.write(`[crdt] ${msg}\n`);
const ms = (t0: number): number => Math.round((performance.now() - t0) * 100) / 100;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const CONV = 1n as ConversationId;
/** Entries per catch-up page in the paged replay: the server's largest entries frame. */
const PAGE = MAX_ENTRIES_PER_PAGE;
const EMOJI = ['👍', '❤️', '😂'];
const USERS = ['1', '2', '3'];

type Op = (d: LoadedDoc, i: number) => void;
/** The user whose device makes operation i of each workload: a device checks an update's records against its entry's sender. */
const authors: Record<string, (i: number) => string> = {
  toggles: (i) => USERS[i % 3]!,
  mixed: (i) => (i % 10 < 7 ? USERS[i % 3]! : '1'),
};
const workloads: Record<string, Op> = {
  toggles: (d, i) => {
    const user = USERS[i % 3]!;
    const emoji = EMOJI[Math.floor(i / 3) % 3]!;
    const on = d.conversation.annotations('9:m0', null).reactions[emoji]?.includes(user) !== true;
    d.conversation.react('9:m0', user, emoji, on, LOCAL);
  },
  mixed: (d, i) => {
    const uid = `9:m${i % 50}`;
    const r = i % 10;
    if (r < 7) {
      const user = USERS[i % 3]!;
      const emoji = EMOJI[i % 3]!;
      const on = d.conversation.annotations(uid, null).reactions[emoji]?.includes(user) !== true;
      d.conversation.react(uid, user, emoji, on, LOCAL);
    } else if (r === 7) d.conversation.pin(uid, '1', i, !d.conversation.pinnedUids().includes(uid), LOCAL);
    else if (r === 8) d.conversation.edit(uid, `edit number ${i}`, '1', i, LOCAL);
    else d.conversation.setProfile({ name: `group ${i}` }, LOCAL);
  },
};

const entryOf = (i: number, type: EntryType, author: (i: number) => string = () => '1'): Entry => ({
  conversationId: CONV,
  id: BigInt(i + 1) as EntryId,
  prevId: BigInt(i) as EntryId,
  senderUserId: BigInt(author(i)) as UserId,
  senderDeviceId: 1n as DeviceId,
  clientMsgId: `c${i}`,
  type,
  createdAt: 0,
  body: new Uint8Array(0),
});

async function run(name: string, op: Op, ops: number, loads: number, gc: boolean) {
  const store = new MemoryStateStore();
  const updates: Uint8Array[] = [];
  const layer = new StateLayer({ store, clock: systemClock, gc, snapshotEvery: Number.MAX_SAFE_INTEGER, send: (_c, data) => Promise.resolve(void updates.push(data)) });
  const t0 = performance.now();
  let compactedBytesAtTenth = 0;
  for (let i = 0; i < ops; i++) {
    await layer.mutate(CONV, (d) => op(d, i));
    if (i + 1 === Math.ceil(ops / 10)) compactedBytesAtTenth = store.docs.get(CONV)!.state.length;
    if ((i + 1) % 2000 === 0) log(`${name}${gc ? '' : ' (no gc)'}: ${i + 1}/${ops} ops`);
  }
  const opMs = ms(t0) / ops;
  const expected = JSON.stringify(await layer.read(CONV, (d) => d.conversation.view()));
  const compactedBytes = store.docs.get(CONV)!.state.length;
  // What the replica stored before format v2 (Yjs update format v1 of the same document).
  const compactedBytesV1 = await layer.read(CONV, (d) => Y.encodeStateAsUpdate(d.doc).length);
  const snapshotBytes = await layer.read(CONV, (d) => snapshotData(d.doc).length);
  const logBytes = updates.reduce((n, u) => n + u.length, 0);
  // With compaction: a fresh layer loads the one stored state.
  const compactedLoad: number[] = [];
  for (let k = 0; k < loads; k++) {
    const fresh = new StateLayer({ store, clock: systemClock, gc, send: () => Promise.resolve() });
    const t1 = performance.now();
    const view = JSON.stringify(await fresh.read(CONV, (d) => d.conversation.view()));
    compactedLoad.push(ms(t1));
    if (view !== expected) throw new Error('compacted load differs');
  }
  // Without compaction: a fresh layer replays the log of every update (its saves cost nothing here).
  const nosave = new MemoryStateStore();
  nosave.saveDoc = () => Promise.resolve();
  const replay = new StateLayer({ store: nosave, clock: systemClock, gc, snapshotEvery: Number.MAX_SAFE_INTEGER, send: () => Promise.resolve() });
  const t2 = performance.now();
  for (let i = 0; i < updates.length; i++) await replay.received(CONV, entryOf(i, EntryType.Crdt, authors[name]), updates[i]!);
  const replayMs = ms(t2);
  if (JSON.stringify(await replay.read(CONV, (d) => d.conversation.view())) !== expected) throw new Error('replayed log differs');
  // The same log as a catch-up reads it: pages of PAGE entries, each opened as one batch.
  const paged = new StateLayer({ store: nosave, clock: systemClock, gc, snapshotEvery: Number.MAX_SAFE_INTEGER, send: () => Promise.resolve() });
  const t3 = performance.now();
  for (let p = 0; p < updates.length; p += PAGE) {
    await paged.batch(CONV, async () => {
      for (let i = p; i < Math.min(p + PAGE, updates.length); i++) await paged.received(CONV, entryOf(i, EntryType.Crdt, authors[name]), updates[i]!);
    });
  }
  const pagedReplayMs = ms(t3);
  if (JSON.stringify(await paged.read(CONV, (d) => d.conversation.view())) !== expected) throw new Error('paged replay differs');
  return { opMs: Math.round(opMs * 1000) / 1000, compactedBytes, compactedBytesAtTenth, compactedBytesV1, snapshotBytes, logBytes, compactedLoadMs: median(compactedLoad), logReplayMs: replayMs, logReplayPagedMs: pagedReplayMs };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['ops', 'loads']);
  if (flags.has('help')) {
    process.stderr.write('usage: npx tsx bench/crdt.ts [--ops 10000] [--loads 5]\n');
    return;
  }
  const ops = num(flags, 'ops', 10_000, 10, 1_000_000, true);
  const loads = num(flags, 'loads', 5, 1, 100, true);
  const results: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(workloads)) {
    const gcOn = await run(name, op, ops, loads, true);
    const gcOff = await run(name, op, ops, loads, false);
    results[name] = {
      ...gcOn,
      compactedBytesWithoutGc: gcOff.compactedBytes,
      sizeRatioLogToCompacted: Math.round((gcOn.logBytes / gcOn.compactedBytes) * 10) / 10,
      loadRatioLogToCompacted: Math.round((gcOn.logReplayMs / Math.max(gcOn.compactedLoadMs, 0.01)) * 10) / 10,
    };
    log(`${name}: ${JSON.stringify(results[name])}`);
  }
  process.stdout.write(`${JSON.stringify({ bench: 'crdt', ops, node: process.version, cpus: os.cpus().length, ...results })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof UsageError ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
