/**
 * MLS membership through real engines and a real server: removal locks a
 * device out cryptographically, tampering shows as unreadable, concurrent
 * Commits converge, a newly linked device is added by its user's existing
 * device and gets the history, and safety numbers agree and change.
 */
import { describe, expect, it } from 'vitest';
import { HttpApi, MlsEnvelope, type TidingsClient } from '@tidings/client';
import { EntryType, type ConversationId, type SentFrame, type ServerFrame, type UserId } from '@tidings/shared';
import { MlsGroup } from '../../client/src/e2ee/group.js';
import { testBackend } from './support/server.js';
import { account, device, history, texts, until, type Device } from './support/devices.js';
import { RawClient } from './support/raw-client.js';

const keysReady = (d: Device) => until([d.client], async () => (await d.api.keyPackageStock()).stock > 10, 20_000, 'KeyPackages uploaded');
const hasTexts = (c: TidingsClient, conv: ConversationId, want: readonly string[]) => async () => {
  const got = texts(await history(c, conv));
  return want.every((w) => got.includes(w));
};
const clients = (ds: readonly Device[]) => ds.map((d) => d.client);
void MlsEnvelope;

async function members(d: Device, conv: ConversationId): Promise<string[]> {
  const g = await d.client.groupState(conv);
  return (g?.members ?? []).map((m) => `${m.userId}:${m.deviceId}`).sort();
}

describe('E2EE membership', () => {
  it('a removed member cannot decrypt what is sent afterwards; a tampered ciphertext is unreadable', { timeout: 90_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const [ca, cb, cc] = [await account(s.url, 'r-alice'), await account(s.url, 'r-bob'), await account(s.url, 'r-carol')];
    const all = [await device(s.url, ca, { mls: true }), await device(s.url, cb, { mls: true }), await device(s.url, cc, { mls: true })];
    await Promise.all(all.map(keysReady));
    const [a, b, c] = all as [Device, Device, Device];
    const group = await a.client.createGroup('r', [cb.userId, cc.userId] as UserId[]);
    await a.client.sendText(group, 'before removal');
    await until(clients(all), hasTexts(c.client, group, ['before removal']), 30_000, 'carol reads');
    await a.client.removeMember(group, cc.userId);
    // The server stops relaying to carol at the removal; the group drops her leaves in a Commit.
    await until(clients(all), async () => !(await members(b, group)).some((m) => m.startsWith(`${cc.userId}:`)), 30_000, 'carol removed from the group');
    await a.client.sendText(group, 'after removal');
    await until(clients(all), hasTexts(b.client, group, ['after removal']), 30_000, 'bob reads');
    expect(texts(await history(c.client, group))).not.toContain('after removal');
    // Cryptographically: carol's stored group cannot open the new ciphertext.
    const entry = (await history(b.client, group)).find((m) => m.content.kind === 'text' && m.content.text === 'after removal')!;
    const carolGroup = await MlsGroup.restore((await c.replica.loadGroup(group))!);
    await expect(carolGroup.decrypt(entry.body)).rejects.toThrow();

    // A member's tampered ciphertext (valid header, flipped ciphertext byte) is accepted by the server and shows as unreadable.
    const raw = await RawClient.connect(s.url, cb.token);
    const tampered = new Uint8Array(entry.body);
    tampered[tampered.length - 5]! ^= 0xff;
    raw.send({ t: 'send', conversationId: group, clientMsgId: 'tampered-1', type: EntryType.Text, body: tampered });
    const ack = (await raw.waitFor((f: ServerFrame) => (f.t === 'sent' && f.clientMsgId === 'tampered-1') || f.t === 'error')) as SentFrame;
    expect(ack.t).toBe('sent');
    await until(clients(all), async () => (await history(a.client, group)).some((m) => m.clientMsgId === 'tampered-1'), 20_000, 'tampered stored');
    expect((await history(a.client, group)).find((m) => m.clientMsgId === 'tampered-1')!.content.kind).toBe('unreadable');
    await a.client.sendText(group, 'still fine');
    await until(clients(all), hasTexts(b.client, group, ['still fine']), 20_000, 'group still works');
    raw.close();
  });

  it('concurrent member additions from two members converge: one Commit per epoch, the other rebases', { timeout: 120_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const creds = [await account(s.url, 'c-alice'), await account(s.url, 'c-bob'), await account(s.url, 'c-dave'), await account(s.url, 'c-erin')];
    const all = await Promise.all(creds.map((cr) => device(s.url, cr, { mls: true })));
    await Promise.all(all.map(keysReady));
    const [a, b, d, e] = all as [Device, Device, Device, Device];
    const group = await a.client.createGroup('race', [b.creds.userId]);
    await until(clients(all), async () => (await members(b, group)).length === 2, 30_000, 'bob joined');
    await Promise.all([a.client.addMembers(group, [d.creds.userId]), b.client.addMembers(group, [e.creds.userId])]);
    const want = all.map((x) => `${x.creds.userId}:${x.creds.deviceId}`).sort();
    await until(clients(all), async () => {
      const views = await Promise.all(all.map((x) => members(x, group)));
      const epochs = await Promise.all(all.map(async (x) => (await x.client.groupState(group))?.epoch));
      return views.every((v) => JSON.stringify(v) === JSON.stringify(want)) && new Set(epochs).size === 1;
    }, 60_000, 'all four devices in one group at one epoch');
    await e.client.sendText(group, 'erin here');
    await until(clients(all), hasTexts(d.client, group, ['erin here']), 30_000, 'dave reads erin');
  });

  it('a newly linked device is added by its existing device, gets the history, and safety numbers agree and change', { timeout: 120_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const [ca, cb] = [await account(s.url, 'l-alice'), await account(s.url, 'l-bob')];
    const a = await device(s.url, ca, { mls: true });
    const b1 = await device(s.url, cb, { mls: true });
    await Promise.all([keysReady(a), keysReady(b1)]);
    const dm = await a.client.openDm(cb.userId);
    const said = ['one', 'two', 'three'];
    for (const t of said) await a.client.sendText(dm, `alice ${t}`);
    await until([a.client, b1.client], hasTexts(b1.client, dm, said.map((t) => `alice ${t}`)), 30_000, 'bob reads');
    await b1.client.sendText(dm, 'bob reply');
    await until([a.client, b1.client], hasTexts(a.client, dm, ['bob reply']), 30_000, 'alice reads');
    const before = await a.client.safetyNumber(cb.userId);
    expect(before).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(await b1.client.safetyNumber(ca.userId)).toBe(before);

    const changes: string[] = [];
    a.client.on('identityChanged', (x) => changes.push(`${x.conversationId}:${x.userId}`));
    const b2creds = await new HttpApi({ serverUrl: s.url }).login('l-bob', 'correct horse battery', 'second');
    const b2 = await device(s.url, b2creds, { mls: true });
    const everyone = [a.client, b1.client, b2.client];
    await until(everyone, hasTexts(b2.client, dm, [...said.map((t) => `alice ${t}`), 'bob reply']), 60_000, 'new device has the history');
    const view = async (d: Device) => (await history(d.client, dm)).filter((m) => m.type === EntryType.Text).map((m) => `${m.id}:${m.content.kind === 'text' ? m.content.text : m.content.kind}`);
    expect(await view(b2)).toEqual(await view(b1));
    await b2.client.sendText(dm, 'from the new device');
    await until(everyone, hasTexts(a.client, dm, ['from the new device']), 30_000, 'alice reads the new device');
    await until(everyone, async () => changes.includes(`${dm}:${cb.userId}`), 10_000, 'identityChanged');
    expect(await a.client.identityWarning(dm)).toBe(true);
    const after = await a.client.safetyNumber(cb.userId);
    expect(after).not.toBe(before);
    await until(everyone, async () => (await b2.client.safetyNumber(ca.userId).catch(() => '')) === after && (await b1.client.safetyNumber(ca.userId)) === after, 20_000, 'numbers agree');
  });
});
