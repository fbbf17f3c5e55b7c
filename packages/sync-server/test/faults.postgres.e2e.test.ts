/**
 * PostgreSQL stopped (immediate mode, like a crash) and restarted while two
 * real client engines send: the node stays up, answers sends and /healthz
 * with the retryable `unavailable`, the engines' outboxes retry, and after
 * the restart every message is in the log exactly once, in one order every
 * device shares, with every id acked before the stop unchanged. Runs against
 * a private Postgres instance (the shared one serves other suites).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { EntryType, type ErrorFrame, type ServerFrame } from '@tidings/shared';
import type { Message } from '@tidings/client';
import { RawClient } from './support/raw-client.js';
import { startNode, waitFor, type NodeProcess } from './support/processes.js';
import { postgresBinaries, privatePostgres } from './support/private-postgres.js';
import { account, device, history, texts, until, type Device } from './support/devices.js';

const bin = postgresBinaries();
/** Messages each engine sends (ben waits for each ack, so his stream is slower); the stop comes after ACKED_BEFORE_STOP acks. */
const ANN_SENDS = 80;
const BEN_SENDS = 30;
const ACKED_BEFORE_STOP = 25;
/** The database stays down at least this long, in ms (long enough for many sends and retries to fail). */
const OUTAGE_MS = 3_000;

const health = async (url: string) => {
  const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: (await r.json()) as { status: string } };
};
const acked = (ms: readonly Message[]) => new Map(ms.filter((m) => m.id !== null).map((m) => [m.clientMsgId, String(m.id)]));

describe.skipIf(!bin)('PostgreSQL restarted while clients send', () => {
  let node: NodeProcess | undefined;
  afterAll(async () => node?.kill9());

  it('answers unavailable while it is down, and loses or duplicates nothing across the restart', async () => {
    const db = (await privatePostgres())!;
    node = await startNode({ DATABASE_URL: db.url, RATE_LIMIT: 'off' });
    const ann = await device(node.url, await account(node.url, 'ann'));
    const ben = await device(node.url, await account(node.url, 'ben'));
    const conv = await ann.client.openDm(ben.creds.userId);
    await until([ann.client, ben.client], async () => ann.client.status === 'online' && ben.client.status === 'online', 15_000, 'online');
    // a second socket of ann's, opened while the database is up (hello needs it), to see the server's answer first-hand
    const probe = await RawClient.connect(node.url, ann.creds.token);

    // ann: a free-running stream (the outbox piles up and is resent); ben: one message at a time, each after the last was acked
    const annStream = (async () => {
      for (let i = 0; i < ANN_SENDS; i++) {
        await ann.client.sendText(conv, `a${i}`);
        await new Promise((r) => setTimeout(r, 25)); // pacing of the load, not an assertion
      }
    })();
    const benStream = (async () => {
      for (let i = 0; i < BEN_SENDS; i++) {
        const m = await ben.client.sendText(conv, `b${i}`);
        await until([ben.client], async () => (await history(ben.client, conv)).some((x) => x.clientMsgId === m.clientMsgId && x.id !== null), 60_000, `b${i} acked`);
      }
    })();

    await until([ann.client], async () => acked(await history(ann.client, conv)).size >= ACKED_BEFORE_STOP, 30_000, 'first acks');
    const before = new Map([...acked(await history(ann.client, conv)), ...acked(await history(ben.client, conv))]);
    await db.stop();
    const stoppedAt = Date.now();

    // while it is down: a send gets the retryable unavailable, /healthz says so, the engines count retries, the node lives
    probe.send({ t: 'send', conversationId: conv, clientMsgId: 'probe', type: EntryType.Text, body: new TextEncoder().encode('probe') });
    const refused = (await probe.waitFor((f: ServerFrame) => f.t === 'error' && f.ref === 'probe', 30_000)) as ErrorFrame;
    expect(refused.code).toBe('unavailable');
    expect(await health(node.url)).toEqual({ status: 503, body: { status: 'unavailable', store: 'postgres' } });
    const retried = async (d: Device) => (await d.replica.pending()).some((i) => i.attempts > 0);
    await waitFor(async () => (await retried(ann)) && (await retried(ben)), 'both outboxes to see a retryable failure', 30_000);
    await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + OUTAGE_MS - Date.now()))); // keep it down a few seconds
    expect(node.proc.exitCode).toBeNull();

    await db.start();
    await waitFor(async () => (await health(node!.url)).status === 200, 'healthz ok again', 30_000);
    // the probe's retry with the same key is accepted once, like any outbox resend
    probe.send({ t: 'send', conversationId: conv, clientMsgId: 'probe', type: EntryType.Text, body: new TextEncoder().encode('probe') });
    await probe.waitFor((f) => f.t === 'sent' && f.clientMsgId === 'probe', 30_000);
    await Promise.all([annStream, benStream]);

    const want = ANN_SENDS + BEN_SENDS + 1;
    const settled = async (d: Device) => {
      const h = await history(d.client, conv);
      return h.length === want && h.every((m) => m.id !== null);
    };
    await until([ann.client, ben.client], async () => (await settled(ann)) && (await settled(ben)), 90_000, 'every message on both devices');
    const [ha, hb] = [await history(ann.client, conv), await history(ben.client, conv)];
    // exactly once, and one order on every device, ids strictly increasing
    expect(hb.map((m) => String(m.id))).toEqual(ha.map((m) => String(m.id)));
    expect(new Set(hb.map((m) => String(m.id))).size).toBe(want);
    for (let i = 1; i < hb.length; i++) expect(BigInt(hb[i]!.id!) > BigInt(hb[i - 1]!.id!)).toBe(true);
    const all = texts(hb);
    expect(all.filter((t) => t.startsWith('a')).sort()).toEqual(Array.from({ length: ANN_SENDS }, (_, i) => `a${i}`).sort());
    expect(hb.filter((m) => m.clientMsgId === 'probe')).toHaveLength(1);
    // ben sent each message only after the last was acked, so his are in the order he sent them
    expect(all.filter((t) => t.startsWith('b'))).toEqual(Array.from({ length: BEN_SENDS }, (_, i) => `b${i}`));
    // nothing acked before the stop was lost or renumbered
    const now = acked(hb);
    for (const [key, id] of before) expect(now.get(key)).toBe(id);
    expect(before.size).toBeGreaterThanOrEqual(ACKED_BEFORE_STOP);
    expect(node.proc.exitCode).toBeNull();
  }, 180_000);
});
