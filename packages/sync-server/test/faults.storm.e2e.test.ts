/**
 * A reconnect storm: hundreds of sockets in one group lose the server at once
 * (it restarts) and all come back at the same moment, each with its cursor,
 * while some devices send. The server keeps answering /healthz throughout (a
 * liveness bound, not a performance figure), every socket ends with the whole
 * log, and the log holds every acked send exactly once. The 5,000-socket
 * version is a benchmark (bench/reconnect-storm.ts): on two shared cores it
 * takes too long for a CI test.
 */
import { describe, expect, it } from 'vitest';
import { EntryType, type ConversationId, type EntryId, type ServerFrame } from '@tidings/shared';
import { testBackend } from './support/server.js';
import { postgresReachable } from './support/stores.js';
import { RawClient, api, register, type Account } from './support/raw-client.js';

const pgOk = await postgresReachable();
/** Sockets in the storm, spread over USERS users (several sockets may share a device token). */
const STORM_SOCKETS = 250;
const USERS = 5;
/** Devices sending while the storm runs, and how many messages each. */
const SENDERS = 3;
const SENDS_EACH = 20;
/** Messages in the log before the restart, so every cursor is non-zero. */
const BEFORE = 20;
/** /healthz must answer within this while the storm runs: a liveness check, generous on a loaded 2-core machine. */
const HEALTH_BOUND_MS = 10_000;
/** Sockets opened in parallel while setting up (the storm itself opens all at once). */
const SETUP_LANES = 50;

type Sent = Extract<ServerFrame, { t: 'sent' }>;

async function inLanes<T, R>(items: readonly T[], lanes: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
  }));
  return out;
}

/** Send texts one after another on a socket, each after the last was acked; returns the acked ids. */
async function sendAll(c: RawClient, conv: ConversationId, keys: readonly string[]): Promise<EntryId[]> {
  const ids: EntryId[] = [];
  for (const key of keys) {
    c.send({ t: 'send', conversationId: conv, clientMsgId: key, type: EntryType.Text, body: new TextEncoder().encode(key) });
    const answer = await c.waitFor((f) => (f.t === 'sent' || f.t === 'error') && (f.t === 'sent' ? f.clientMsgId : f.ref) === key, 60_000);
    if (answer.t !== 'sent') throw new Error(`send ${key} refused: ${JSON.stringify(answer)}`);
    ids.push((answer as Sent).id);
  }
  return ids;
}

const distinctIds = (cs: readonly RawClient[], conv: ConversationId) => [...new Set(cs.flatMap((c) => c.entries(conv).map((e) => String(e.id))))].sort();

describe('a reconnect storm', () => {
  it(`${STORM_SOCKETS} sockets reconnecting at once after a restart lose nothing, and /healthz keeps answering`, async () => {
    const backend = await testBackend(pgOk ? 'postgres' : 'pglite');
    let s = await backend.start();
    const users: Account[] = [];
    for (let i = 0; i < USERS; i++) users.push(await register(s.url));
    const created = await api(s.url, 'POST', '/v1/groups', { name: 'storm', member_ids: users.slice(1).map((u) => u.userId) }, users[0]!.token);
    expect(created.status).toBe(201);
    const g = BigInt(created.json.group_id) as ConversationId;
    const tokenOf = (i: number) => users[i % USERS]!.token;

    const first = await inLanes(Array.from({ length: STORM_SOCKETS }, (_, i) => i), SETUP_LANES, (i) => RawClient.connect(s.url, tokenOf(i)));
    const early = await RawClient.connect(s.url, tokenOf(0));
    const beforeIds = await sendAll(early, g, Array.from({ length: BEFORE }, (_, k) => `before-${k}`));
    // not needed for correctness (cursors say where each socket is), but makes every cursor non-trivial
    await Promise.all(first.map((c) => c.next((f) => f.t === 'entries' && f.entries.some((e) => e.id === beforeIds[BEFORE - 1]), 60_000)));

    // the restart: every socket is closed by the server at once
    const port = s.port;
    await s.close();
    await Promise.all([...first, early].map((c) => c.whenClosed(30_000)));
    s = await backend.start({ port });

    // the storm: all sockets reconnect at the same moment with their cursors, senders send, /healthz is probed
    let storming = true;
    const probes: number[] = [];
    const prober = (async () => {
      while (storming) {
        const t0 = performance.now();
        const r = await fetch(`${s.url}/healthz`, { signal: AbortSignal.timeout(HEALTH_BOUND_MS) });
        expect(r.status).toBe(200);
        probes.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 50)); // probe pacing, not an assertion
      }
    })();
    const cursorOf = (c: RawClient) => c.entries(g).reduce((m, e) => (e.id > m ? e.id : m), 0n as EntryId);
    const reconnect = Promise.all(first.map((c, i) => RawClient.connect(s.url, tokenOf(i), [{ conversationId: g, upto: cursorOf(c) }])));
    const sending = Promise.all(
      Array.from({ length: SENDERS }, async (_, j) => {
        const c = await RawClient.connect(s.url, tokenOf(j));
        return sendAll(c, g, Array.from({ length: SENDS_EACH }, (_, k) => `storm-${j}-${k}`));
      }),
    );
    const [second, stormIds] = await Promise.all([reconnect, sending]);
    storming = false;
    await prober;
    expect(probes.length).toBeGreaterThan(0);

    // every socket ends with the whole log: what it had before the restart plus what it got after, each id at least once
    const last = stormIds.flat().reduce((m, id) => (id > m ? id : m), 0n as EntryId);
    await Promise.all(second.map((c) => c.next((f) => f.t === 'entries' && f.entries.some((e) => e.id === last), 60_000)));
    const reader = await RawClient.connect(s.url, tokenOf(0));
    const log = reader.entries(g);
    const logIds = log.map((e) => String(e.id));
    for (let i = 1; i < log.length; i++) expect(log[i]!.id > log[i - 1]!.id).toBe(true);
    const keys = log.filter((e) => e.type === EntryType.Text).map((e) => e.clientMsgId);
    const want = [...Array.from({ length: BEFORE }, (_, k) => `before-${k}`), ...Array.from({ length: SENDERS * SENDS_EACH }, (_, n) => `storm-${Math.floor(n / SENDS_EACH)}-${n % SENDS_EACH}`)];
    expect([...keys].sort()).toEqual([...want].sort());
    for (const id of [...beforeIds, ...stormIds.flat()]) expect(logIds).toContain(String(id));
    const sortedLog = [...logIds].sort();
    first.forEach((c, i) => {
      expect(distinctIds([c, second[i]!], g)).toEqual(sortedLog);
      // and the cursor was honoured: nothing at or below it was sent again
      const upto = cursorOf(c);
      expect(second[i]!.entries(g).every((e) => e.id > upto)).toBe(true);
    });
    for (const c of [...second, reader]) c.close();
  }, 120_000);
});
