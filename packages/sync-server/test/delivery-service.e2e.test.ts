/**
 * The server as MLS Delivery Service, with real ts-mls KeyPackages, Welcomes
 * and Commits made by the client's e2ee module: KeyPackages handed out once,
 * device inboxes drained on ack, and at most one Commit per epoch.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { EntryType, InboxKind, type ConversationId, type DeviceId, type ErrorFrame, type InboxFrame, type SentFrame, type ServerFrame, type UserId } from '@tidings/shared';
import { MlsGroup, createDeviceIdentity, generateKeyPackages, type DeviceIdentity, type KeyPackageBundle } from '../../client/src/e2ee/index.js';
import type { RunningServer } from '../src/index.js';
import { testBackend } from './support/server.js';
import { RawClient, api, register, signIn, type Account } from './support/raw-client.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const identityOf = (a: Account) => createDeviceIdentity({ userId: BigInt(a.userId) as UserId, deviceId: BigInt(a.deviceId) as DeviceId });

async function upload(s: RunningServer, a: Account, kps: KeyPackageBundle[]) {
  return api(s.url, 'POST', '/v1/devices/me/key-packages', { key_packages: kps.map((k) => b64(k.publicBytes)) }, a.token);
}
async function sendMls(c: RawClient, conv: ConversationId, ref: string, type: number, body: Uint8Array): Promise<SentFrame | ErrorFrame> {
  c.send({ t: 'send', conversationId: conv, clientMsgId: ref, type: type as never, body });
  return (await c.waitFor((f: ServerFrame) => (f.t === 'sent' || f.t === 'error') && ('clientMsgId' in f ? f.clientMsgId === ref : f.ref === ref))) as SentFrame | ErrorFrame;
}

describe('MLS delivery service', () => {
  let s: RunningServer;
  let alice: Account, bob: Account, carol: Account, stranger: Account;
  let ida: DeviceIdentity, idb: DeviceIdentity, idc: DeviceIdentity;
  let conv: ConversationId;
  beforeAll(async () => {
    s = await (await testBackend('pglite')).start();
    [alice, bob, carol, stranger] = [await register(s.url), await register(s.url), await register(s.url), await register(s.url)];
    [ida, idb, idc] = await Promise.all([identityOf(alice), identityOf(bob), identityOf(carol)]);
    conv = BigInt((await api(s.url, 'POST', '/v1/groups', { name: 'mls', member_ids: [bob.userId, carol.userId] }, alice.token)).json.group_id) as ConversationId;
  });

  it("takes a device's own KeyPackages only, hands each out once, and reports low stock", async () => {
    const bobKps = await generateKeyPackages(idb, 12);
    expect((await upload(s, bob, bobKps)).json).toEqual({ stock: 12 });
    // someone else's KeyPackage, or garbage, is refused and stores nothing
    const forged = await upload(s, alice, bobKps.slice(0, 1));
    expect([forged.status, forged.json.error.code]).toEqual([403, 'forbidden']);
    const junk = await api(s.url, 'POST', '/v1/devices/me/key-packages', { key_packages: [b64(new Uint8Array([0, 1, 0, 5, 9]))] }, bob.token);
    expect([junk.status, junk.json.error.code]).toEqual([400, 'invalid_argument']);
    expect((await api(s.url, 'GET', '/v1/devices/me/key-packages', undefined, bob.token)).json.stock).toBe(12);
    // two concurrent claims never get the same KeyPackage
    const cb = await RawClient.connect(s.url, bob.token);
    const [c1, c2] = await Promise.all([
      api(s.url, 'POST', '/v1/key-packages/claim', { user_ids: [bob.userId] }, alice.token),
      api(s.url, 'POST', '/v1/key-packages/claim', { user_ids: [bob.userId] }, carol.token),
    ]);
    const got = [...c1.json.key_packages, ...c2.json.key_packages].map((k: { key_package: string }) => k.key_package);
    expect(got).toHaveLength(2);
    expect(new Set(got).size).toBe(2);
    expect(bobKps.map((k) => b64(k.publicBytes))).toEqual(expect.arrayContaining(got));
    expect(c1.json.key_packages[0]).toMatchObject({ user_id: bob.userId, device_id: bob.deviceId });
    // stock 10 is the low-water mark: bob's device is told
    expect((await cb.next((f) => f.t === 'key_packages_low')) as ServerFrame).toEqual({ t: 'key_packages_low', stock: 10 });
    // carol has none: reported missing; strangers cannot be claimed
    const none = await api(s.url, 'POST', '/v1/key-packages/claim', { user_ids: [carol.userId] }, alice.token);
    expect(none.json).toEqual({ key_packages: [], missing: [{ user_id: carol.userId, device_id: carol.deviceId }] });
    const denied = await api(s.url, 'POST', '/v1/key-packages/claim', { user_ids: [stranger.userId] }, alice.token);
    expect(denied.json.error.code).toBe('forbidden');
  });

  it('orders Commits: one per epoch, stale ones refused; application messages only in the current epoch', async () => {
    const [ca, cc] = [await RawClient.connect(s.url, alice.token), await RawClient.connect(s.url, carol.token)];
    const carolKps = await generateKeyPackages(idc, 2);
    await upload(s, carol, carolKps);
    const claimed = (await api(s.url, 'POST', '/v1/key-packages/claim', { user_ids: [bob.userId, carol.userId] }, alice.token)).json.key_packages;
    const group = await MlsGroup.create(ida, conv);
    const add = await group.proposeAdd(claimed.map((k: { key_package: string }) => new Uint8Array(Buffer.from(k.key_package, 'base64'))));
    // before any Commit the conversation has no MLS epoch: a rival Commit for epoch 0 from carol's own group races alice's
    const rival = await (await MlsGroup.create(idc, conv)).proposeAdd([(await generateKeyPackages(idb, 1))[0]!.publicBytes]);
    const won = await sendMls(ca, conv, 'commit-0', EntryType.Mls, add.commit);
    expect(won.t).toBe('sent');
    await group.confirm();
    expect(((await sendMls(cc, conv, 'rival-0', EntryType.Mls, rival.commit)) as ErrorFrame).code).toBe('stale_epoch');
    // a replay of the winning Commit under a new id is stale too
    expect(((await sendMls(ca, conv, 'commit-0-again', EntryType.Mls, add.commit)) as ErrorFrame).code).toBe('stale_epoch');
    // the Welcome goes to the new members' device inboxes
    const welcome = add.welcome!;
    const posted = await api(s.url, 'POST', '/v1/inbox', { items: [bob, carol].map((u) => ({ device_id: u.deviceId, kind: 'welcome', body: b64(welcome) })) }, alice.token);
    expect(posted.json.ids).toHaveLength(2);
    const inbox = (await cc.next((f) => f.t === 'inbox')) as InboxFrame;
    expect(inbox.items[0]).toMatchObject({ kind: InboxKind.Welcome, senderUserId: BigInt(alice.userId), senderDeviceId: BigInt(alice.deviceId) });
    expect(Buffer.from(inbox.items[0]!.body).equals(Buffer.from(welcome))).toBe(true);
    // an application message in the current epoch is accepted; one made in the old epoch is not
    const now = await group.encrypt(new TextEncoder().encode('epoch 1'));
    expect((await sendMls(ca, conv, 'app-1', EntryType.Text, now)).t).toBe('sent');
    const old = await (await MlsGroup.create(ida, conv)).encrypt(new TextEncoder().encode('epoch 0'));
    expect(((await sendMls(ca, conv, 'app-0', EntryType.Text, old)) as ErrorFrame).code).toBe('stale_epoch');
    // and a message for another group, or not MLS at all, is refused outright
    const otherConv = BigInt((await api(s.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token)).json.conversation_id) as ConversationId;
    expect(((await sendMls(ca, otherConv, 'wrong-group', EntryType.Mls, add.commit)) as ErrorFrame).code).toBe('invalid_argument');
    expect(((await sendMls(ca, conv, 'not-mls', EntryType.Text, new TextEncoder().encode('plain text'))) as ErrorFrame).code).toBe('invalid_argument');
    // carol joins from her Welcome and reads the epoch-1 message from the log; the server saw only ciphertext
    const secrets = new Map(carolKps.map((k) => [k.ref, k.privateBytes]));
    const { group: carolGroup } = await MlsGroup.join(inbox.items[0]!.body, (ref) => secrets.get(ref));
    expect(carolGroup.epoch).toBe(group.epoch);
    const logged = (await RawClient.connect(s.url, carol.token)).entries(conv).find((e) => e.clientMsgId === 'app-1')!;
    const opened = await carolGroup.decrypt(logged.body);
    expect(new TextDecoder().decode(opened.plaintext)).toBe('epoch 1');
    expect(opened.sender).toEqual({ userId: BigInt(alice.userId), deviceId: BigInt(alice.deviceId) });
    expect(Buffer.from(logged.body).includes(Buffer.from('epoch 1'))).toBe(false);
  });

  it('drains a device inbox only when acked, and refuses posts to strangers or non-Welcomes', async () => {
    const group = await MlsGroup.create(ida, (BigInt(conv) + 7n) as ConversationId);
    const kp = (await generateKeyPackages(idb, 1))[0]!;
    const { welcome } = await group.proposeAdd([kp.publicBytes]);
    const post = (to: Account, kind: string, body: Uint8Array) =>
      api(s.url, 'POST', '/v1/inbox', { items: [{ device_id: to.deviceId, kind, body: b64(body) }] }, alice.token);
    expect((await post(bob, 'welcome', welcome!)).status).toBe(200);
    expect((await post(bob, 'history', new Uint8Array([1, 2, 3]))).status).toBe(200);
    expect((await post(stranger, 'welcome', welcome!)).json.error.code).toBe('not_found');
    expect((await post(bob, 'welcome', new Uint8Array([1, 2, 3]))).json.error.code).toBe('invalid_argument');
    const first = await RawClient.connect(s.url, bob.token);
    const items = first.frames.filter((f): f is InboxFrame => f.t === 'inbox').flatMap((f) => f.items);
    expect(items.map((i) => i.kind)).toEqual(expect.arrayContaining([InboxKind.Welcome, InboxKind.History]));
    // not acked: delivered again on the next connection
    const again = await RawClient.connect(s.url, bob.token);
    expect(again.frames.filter((f) => f.t === 'inbox').flatMap((f) => (f as InboxFrame).items)).toHaveLength(items.length);
    again.send({ t: 'inbox_ack', upto: items[items.length - 1]!.id });
    // the ack is handled asynchronously: wait until the store shows it
    for (let i = 0; i < 50; i++) {
      const { rows } = await s.db.query<{ n: unknown }>('SELECT count(*) AS n FROM inbox WHERE device_id = $1', [bob.deviceId]);
      if (Number(rows[0]!.n) === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const drained = await RawClient.connect(s.url, bob.token);
    expect(drained.frames.some((f) => f.t === 'inbox')).toBe(false);
  });

  it('a claim limited by device_ids takes KeyPackages of those devices only, leaving the others\' stock', async () => {
    const dave1 = await register(s.url);
    const dave2 = await signIn(s.url, dave1.username, 'new phone');
    await api(s.url, 'POST', '/v1/dms', { user_id: dave1.userId }, alice.token);
    const id2 = await createDeviceIdentity({ userId: BigInt(dave2.userId) as UserId, deviceId: BigInt(dave2.deviceId) as DeviceId });
    expect((await upload(s, dave1, await generateKeyPackages(await identityOf(dave1), 3))).json).toEqual({ stock: 3 });
    expect((await upload(s, dave2, await generateKeyPackages(id2, 3))).json).toEqual({ stock: 3 });
    const only = await api(s.url, 'POST', '/v1/key-packages/claim', { user_ids: [dave1.userId], device_ids: [dave2.deviceId] }, alice.token);
    expect(only.json.key_packages.map((k: { device_id: string }) => k.device_id)).toEqual([dave2.deviceId]);
    expect(only.json.missing).toEqual([]);
    const stock = async (a: Account) => (await api(s.url, 'GET', '/v1/devices/me/key-packages', undefined, a.token)).json.stock;
    expect([await stock(dave1), await stock(dave2)]).toEqual([3, 2]);
    // A device id of someone else's (or malformed) claims nothing more.
    const other = await api(s.url, 'POST', '/v1/key-packages/claim', { user_ids: [dave1.userId], device_ids: [bob.deviceId] }, alice.token);
    expect(other.json).toEqual({ key_packages: [], missing: [] });
    const bad = await api(s.url, 'POST', '/v1/key-packages/claim', { user_ids: [dave1.userId], device_ids: ['0x1'] }, alice.token);
    expect([bad.status, bad.json.error.code]).toEqual([400, 'invalid_argument']);
    expect([await stock(dave1), await stock(dave2)]).toEqual([3, 2]);
  });
});
