/**
 * Many nodes against real Postgres and Redis: three node processes, real
 * client engines that fail over between them, kill -9 in the middle of a
 * burst, a Redis restart in the middle of traffic, and node-id leases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationId } from '@tidings/shared';
import { freshPostgresDatabase, postgresReachable } from './support/stores.js';
import { privateRedis, startNode, type NodeProcess, type RedisProcess } from './support/processes.js';
import { account, device, history, texts, until, type Device } from './support/devices.js';

const pgOk = await postgresReachable();

describe.skipIf(!pgOk)('a cluster of three nodes', () => {
  let nodes: NodeProcess[] = [];
  let redis: RedisProcess;
  let env: Record<string, string>;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await freshPostgresDatabase();
    drop = db.drop;
    const r = await privateRedis();
    if (!r) throw new Error('redis-server is needed for the cluster suite');
    redis = r;
    env = { RATE_LIMIT: 'off', DATABASE_URL: db.url, REDIS_URL: redis.url, NODE_LEASE_TTL_MS: '3000', ROUTE_TTL_MS: '3000', PRESENCE_GRACE_MS: '1000' };
    nodes = [await startNode(env)];
    nodes.push(...(await Promise.all([startNode(env), startNode(env)])));
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes) await n.kill9();
    await redis?.stop();
    await drop?.();
  });

  /** A device whose primary node is `home`, failing over to the others. */
  const on = async (home: number, name: string, creds?: Awaited<ReturnType<typeof account>>): Promise<Device> => {
    const c = creds ?? (await account(nodes[home]!.url, name));
    const others = nodes.filter((_, i) => i !== home).map((n) => n.url);
    return device(nodes[home]!.url, c, { fallbackUrls: others });
  };
  const sendAll = async (d: Device, conv: ConversationId, prefix: string, n: number) => {
    for (let i = 0; i < n; i++) await d.client.sendText(conv, `${prefix}${i}`);
  };
  const ids = async (d: Device, conv: ConversationId) => (await history(d.client, conv)).map((m) => String(m.id));

  it('leases a distinct node id per node, and refuses a node that wants an id already leased', async () => {
    const leased = await Promise.all(nodes.map((n) => n.nodeId()));
    expect(new Set(leased).size).toBe(3);
    const clash = await startNode({ ...env, NODE_ID: String(leased[0]) }, { waitReady: false });
    expect(await clash.exited).not.toBe(0);
  });

  it('DM and group traffic between clients on different nodes arrives once and in order', async () => {
    const [a, b, c] = [await on(0, 'ann'), await on(1, 'bob'), await on(2, 'cid')];
    const dm = await a.client.openDm(b.creds.userId);
    const g = await a.client.createGroup('three nodes', [b.creds.userId, c.creds.userId]);
    await Promise.all([sendAll(a, dm, 'a', 10), sendAll(b, dm, 'b', 10), sendAll(a, g, 'ga', 5), sendAll(b, g, 'gb', 5), sendAll(c, g, 'gc', 5)]);
    const all = [a, b, c].map((d) => d.client);
    const committed = async (d: Device) => (await history(d.client, dm)).filter((m) => m.id !== null).length;
    await until(all, async () => (await committed(a)) === 20 && (await committed(b)) === 20, 30_000, 'dm converged');
    await until(all, async () => (await Promise.all([a, b, c].map((d) => history(d.client, g)))).every((h) => h.filter((m) => m.content.kind === 'text' && m.id !== null).length === 15), 30_000, 'group converged');
    expect(await ids(b, dm)).toEqual(await ids(a, dm));
    const gi = await ids(a, g);
    expect(await ids(b, g)).toEqual(gi);
    expect(await ids(c, g)).toEqual(gi);
    expect(new Set(texts(await history(c.client, g))).size).toBe(15);
    // each side's own order is kept within the merged order
    const bt = texts(await history(b.client, dm));
    expect(bt.filter((t) => t.startsWith('a'))).toEqual(Array.from({ length: 10 }, (_, i) => `a${i}`));
  }, 90_000);

  it('kill -9 of a node mid-burst loses no acked message and duplicates none after its clients fail over', async () => {
    const [a, b] = [await on(0, 'kay'), await on(1, 'lee')];
    const dm = await a.client.openDm(b.creds.userId);
    await until([a.client], async () => a.client.status === 'online', 15_000, 'kay online');
    const burst = sendAll(a, dm, 'k', 100);
    await until([a.client], async () => (await history(a.client, dm)).filter((m) => m.id !== null).length >= 25, 30_000, 'a quarter acked');
    const ackedBefore = (await history(a.client, dm)).filter((m) => m.id !== null).map((m) => String(m.id));
    await nodes[0]!.kill9();
    await burst;
    await until([a.client, b.client], async () => (await history(b.client, dm)).length === 100 && (await history(a.client, dm)).every((m) => m.id !== null), 60_000, 'all 100 after failover');
    const got = await history(b.client, dm);
    expect(texts(got)).toEqual(Array.from({ length: 100 }, (_, i) => `k${i}`));
    expect(new Set(got.map((m) => String(m.id))).size).toBe(100);
    for (const id of ackedBefore) expect(got.some((m) => String(m.id) === id)).toBe(true);
    nodes[0] = await startNode(env); // back to three for the next test
  }, 120_000);

  it('a Redis restart in the middle of traffic loses nothing: devices resync by cursor', async () => {
    const [a, b] = [await on(1, 'max'), await on(2, 'ned')];
    const dm = await a.client.openDm(b.creds.userId);
    await until([a.client, b.client], async () => a.client.status === 'online' && b.client.status === 'online', 15_000, 'both online');
    await sendAll(a, dm, 'r', 20);
    await until([b.client], async () => (await history(b.client, dm)).length === 20, 30_000, 'first 20 across nodes');
    await redis.stop();
    await sendAll(a, dm, 'r', 0);
    for (let i = 20; i < 40; i++) await a.client.sendText(dm, `r${i}`);
    // the sender's node still accepts and persists while Redis is down
    await until([a.client], async () => (await history(a.client, dm)).every((m) => m.id !== null), 30_000, 'acked without redis');
    await redis.start();
    await until([b.client], async () => (await history(b.client, dm)).length === 40, 60_000, 'all 40 after redis returns');
    expect(texts(await history(b.client, dm))).toEqual(Array.from({ length: 40 }, (_, i) => `r${i}`));
    expect(await ids(b, dm)).toEqual(await ids(a, dm));
  }, 120_000);
});
