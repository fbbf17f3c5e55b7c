/**
 * End to end with the real client engine (@tidings/client: Dexie replica,
 * outbox, vector-cursor sync) against a real server on port 0, over both stores.
 */
import { describe, expect, it } from 'vitest';
import { MessageState, type Message } from '@tidings/client';
import type { ConversationId, UserId } from '@tidings/shared';
import { testBackend } from './support/server.js';
import { postgresReachable, STORE_KINDS } from './support/stores.js';
import { account, device, history, texts, until } from './support/devices.js';
import { HttpApi } from '@tidings/client';

const pgOk = await postgresReachable();
const textsOf = async (d: { client: { messages: (c: ConversationId, p: { limit: number }) => Promise<Message[]> } }, conv: ConversationId) =>
  texts(await d.client.messages(conv, { limit: 10_000 }));
const ids = (ms: Message[]) => ms.map((m) => String(m.id));

describe.each(STORE_KINDS)('client engine end to end on %s', (kind) => {
  describe.skipIf(kind === 'postgres' && !pgOk)('', () => {
    it('DM with both online: pending -> sent for the sender, live delivery to the recipient', async () => {
      const s = await (await testBackend(kind)).start();
      const a = await device(s.url, await account(s.url, 'alice'));
      const b = await device(s.url, await account(s.url, 'bob'));
      const conv = await a.client.openDm(b.creds.userId);
      const states: string[] = [];
      a.client.on('message', (m) => m.content.kind === 'text' && states.push(m.state));
      await until([a.client], async () => a.client.status === 'online', 15_000, 'alice online');
      const local = await a.client.sendText(conv, 'hi bob');
      expect(local.state).toBe(MessageState.Pending);
      await until([b.client], async () => (await textsOf(b, conv)).includes('hi bob'), 15_000, 'bob has it');
      await until([a.client], async () => (await history(a.client, conv)).some((m) => m.id !== null), 15_000, 'alice sent');
      expect(states[0]).toBe('pending');
      expect(states.some((st) => ['sent', 'delivered', 'read'].includes(st))).toBe(true);
      const [ma] = await history(a.client, conv);
      const [mb] = await history(b.client, conv);
      expect(mb!.id).toBe(ma!.id);
      expect(mb!.senderUserId).toBe(a.creds.userId);
    });

    it('recipient offline: 100 sent, then the recipient connects and has all 100 in order exactly once', async () => {
      const s = await (await testBackend(kind)).start();
      const a = await device(s.url, await account(s.url, 'alice'));
      const bobCreds = await account(s.url, 'bob');
      const conv = await a.client.openDm(bobCreds.userId);
      for (let i = 0; i < 100; i++) await a.client.sendText(conv, `m${i}`);
      await until([a.client], async () => (await history(a.client, conv)).every((m) => m.id !== null), 20_000, 'all acked');
      const b = await device(s.url, bobCreds);
      await until([b.client], async () => (await history(b.client, conv)).length >= 100, 20_000, 'bob caught up');
      await b.client.whenIdle();
      const got = await history(b.client, conv);
      expect(texts(got)).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
      expect(new Set(ids(got)).size).toBe(100);
      expect(ids(got)).toEqual(ids(await history(a.client, conv)));
    });

    it('messages written offline wait in the outbox and go out once when the server is back; nothing acked is lost across a restart', async () => {
      const backend = await testBackend(kind);
      let s = await backend.start();
      const port = s.port;
      const a = await device(s.url, await account(s.url, 'alice'));
      const bobCreds = await account(s.url, 'bob');
      const conv = await a.client.openDm(bobCreds.userId);
      await a.client.sendText(conv, 'before');
      await until([a.client], async () => (await history(a.client, conv)).every((m) => m.id !== null), 15_000, 'acked');
      await s.close();
      await until([a.client], async () => a.client.status !== 'online', 15_000, 'alice notices');
      for (let i = 0; i < 5; i++) await a.client.sendText(conv, `offline ${i}`);
      expect((await history(a.client, conv)).filter((m) => m.state === 'pending')).toHaveLength(5);
      s = await backend.start({ port });
      await until([a.client], async () => (await history(a.client, conv)).every((m) => m.id !== null), 20_000, 'outbox flushed');
      const b = await device(s.url, bobCreds);
      await until([b.client], async () => (await history(b.client, conv)).length >= 6, 20_000, 'bob has 6');
      await b.client.whenIdle();
      expect(await textsOf(b, conv)).toEqual(['before', 'offline 0', 'offline 1', 'offline 2', 'offline 3', 'offline 4']);
    });

    it("one user's two devices converge on the same ordered history, including each other's sends", async () => {
      const s = await (await testBackend(kind)).start();
      const a = await device(s.url, await account(s.url, 'alice'));
      const bobCreds = await account(s.url, 'bob');
      const b1 = await device(s.url, bobCreds);
      const b2 = await device(s.url, await new HttpApi({ serverUrl: s.url }).login('bob', 'correct horse battery', 'tablet'));
      const conv = await a.client.openDm(bobCreds.userId);
      await until([a.client, b1.client, b2.client], async () => [a, b1, b2].every((d) => d.client.status === 'online'), 15_000, 'all online');
      for (let i = 0; i < 10; i++) await [a, b1, b2][i % 3]!.client.sendText(conv, `t${i}`);
      const all = [a.client, b1.client, b2.client];
      await until(all, async () => (await Promise.all(all.map((c) => history(c, conv)))).every((h) => h.length === 10 && h.every((m) => m.id !== null)), 20_000, 'converged');
      const [h1, h2, h3] = await Promise.all(all.map((c) => history(c, conv)));
      expect(ids(h2!)).toEqual(ids(h1!));
      expect(ids(h3!)).toEqual(ids(h1!));
      expect(texts(h1!).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `t${i}`).sort());
    });

    it('a group of 5 with a member joining and one leaving', async () => {
      const s = await (await testBackend(kind)).start();
      const devs = [];
      for (const name of ['ann', 'ben', 'cat', 'dan', 'eve', 'fay']) devs.push(await device(s.url, await account(s.url, name)));
      const [ann, ben, cat, dan, eve, fay] = devs as [typeof devs[0], typeof devs[0], typeof devs[0], typeof devs[0], typeof devs[0], typeof devs[0]];
      const g = await ann.client.createGroup('five', [ben, cat, dan, eve].map((d) => d.creds.userId));
      const five = [ann, ben, cat, dan, eve];
      await until(five.map((d) => d.client), async () => (await Promise.all(five.map((d) => d.client.conversations()))).every((cs) => cs.some((c) => c.id === g)), 15_000, 'group known');
      // sendText resolves once the message is in the local outbox; wait for the server's ack before changing membership.
      const sendAcked = async (d: typeof ann, text: string) => {
        const m = await d.client.sendText(g, text);
        await until([d.client], async () => (await history(d.client, g)).some((x) => x.uid === m.uid && x.id !== null), 15_000, `${text} acked`);
      };
      await sendAcked(ben, 'hello group');
      await ann.client.addMembers(g, [fay.creds.userId]);
      await sendAcked(cat, 'welcome fay');
      await ann.client.removeMember(g, eve.creds.userId);
      await sendAcked(dan, 'eve left');
      const stay = [ann, ben, cat, dan];
      await until(stay.map((d) => d.client), async () => (await Promise.all(stay.map((d) => textsOf(d, g)))).every((t) => t.length === 3), 20_000, 'members have 3');
      await until([fay.client], async () => (await textsOf(fay, g)).includes('eve left'), 20_000, 'fay has later');
      const ref = ids(await history(ann.client, g));
      for (const d of stay) expect(ids(await history(d.client, g))).toEqual(ref);
      expect(await textsOf(fay, g)).toEqual(['welcome fay', 'eve left']);
      await until([eve.client], async () => (await eve.client.conversations()).some((c) => c.id === g && c.left), 15_000, 'eve left');
      expect(await textsOf(eve, g)).toEqual(['hello group', 'welcome fay']);
      const ghost = await eve.client.sendText(g, 'ghost');
      await until([eve.client], async () => (await history(eve.client, g)).some((m) => m.uid === ghost.uid && m.state === 'failed'), 15_000, 'ghost fails');
      const failed = (await history(eve.client, g)).find((m) => m.uid === ghost.uid)!;
      expect(failed.error?.code).toBe('not_a_member');
      const sys = (await history(fay.client, g)).filter((m) => m.content.kind === 'system');
      expect(sys.length).toBeGreaterThanOrEqual(2);
    });

    it('ticks go pending -> sent -> delivered -> read, and reading on one device clears unread on the other', async () => {
      const s = await (await testBackend(kind)).start();
      const a = await device(s.url, await account(s.url, 'alice'));
      const bobCreds = await account(s.url, 'bob');
      const b1 = await device(s.url, bobCreds);
      const b2 = await device(s.url, await new HttpApi({ serverUrl: s.url }).login('bob', 'correct horse battery', 'phone'));
      const conv = await a.client.openDm(bobCreds.userId);
      const m = await a.client.sendText(conv, 'tick tock');
      expect(m.state).toBe('pending');
      const stateOf = async () => (await history(a.client, conv)).find((x) => x.uid === m.uid)?.state;
      await until([a.client], async () => (await stateOf()) !== 'pending', 20_000, 'acked');
      await until([a.client], async () => (await stateOf()) === 'delivered', 20_000, 'delivered');
      await until([b1.client, b2.client], async () => (await b1.client.unreadCount(conv)) === 1 && (await b2.client.unreadCount(conv)) === 1, 20_000, 'unread 1 on both');
      await b1.client.markRead(conv);
      await until([a.client], async () => (await stateOf()) === 'read', 20_000, 'read');
      await until([b2.client], async () => (await b2.client.unreadCount(conv)) === 0, 20_000, 'unread cleared on the phone');
      expect(await stateOf()).toBe('read');
      expect(await a.client.unreadCount(conv)).toBe(0); // one's own messages never count as unread
    });

    it('a non-member cannot read a conversation it learns the id of', async () => {
      const s = await (await testBackend(kind)).start();
      const a = await device(s.url, await account(s.url, 'alice'));
      const bobCreds = await account(s.url, 'bob');
      const mallory = await device(s.url, await account(s.url, 'mallory'));
      const conv = await a.client.openDm(bobCreds.userId);
      await a.client.sendText(conv, 'private');
      await until([a.client], async () => (await history(a.client, conv)).every((m) => m.id !== null), 15_000, 'sent');
      const bad = await mallory.client.sendText(conv, 'let me in');
      await until([mallory.client], async () => (await history(mallory.client, conv)).some((m) => m.uid === bad.uid && m.state === 'failed'), 15_000, 'refused');
      expect(texts(await history(mallory.client, conv))).toEqual(['let me in']);
      await expect(mallory.api.removeMember(conv, bobCreds.userId as UserId)).rejects.toMatchObject({ code: 'not_a_member' });
    });
  });
});
