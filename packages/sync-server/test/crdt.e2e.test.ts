/**
 * Convergent state end to end: real MLS engines, a real server. Edits and
 * reactions made offline on two devices both survive; delete for everyone
 * erases the content on every device (and no plaintext is anywhere on the
 * server); a group rename shows everywhere; a newly linked device gets the
 * current state from a snapshot; the disappearing timer removes messages on
 * every device and, through the sweep, on the server.
 */
import { describe, expect, it } from 'vitest';
import { HttpApi, type Message } from '@tidings/client';
import { EntryType, type ConversationId } from '@tidings/shared';
import { testBackend } from './support/server.js';
import { account, device, history, until, type Device } from './support/devices.js';

const keysReady = (d: Device): Promise<void> => until([d.client], async () => (await d.api.keyPackageStock()).stock > 10, 20_000, 'KeyPackages uploaded');

/** The message with this (original) text, as the device shows it; null when absent. */
async function find(d: Device, conv: ConversationId, uid: string): Promise<Message | null> {
  return (await history(d.client, conv)).find((m) => m.uid === uid) ?? null;
}
const textOf = (m: Message | null): string | null => (m?.content.kind === 'text' ? m.content.text : null);

async function pair(prefix: string, store: 'pglite' | 'postgres' = 'pglite') {
  const s = await (await testBackend(store)).start();
  const a = await device(s.url, await account(s.url, `${prefix}-alice`), { mls: true });
  const b = await device(s.url, await account(s.url, `${prefix}-bob`), { mls: true });
  await Promise.all([keysReady(a), keysReady(b)]);
  const dm = await a.client.openDm(b.creds.userId);
  return { s, a, b, dm };
}

/** Sends a text from `from` and waits until `to` has it; returns its uid. */
async function said(from: Device, to: readonly Device[], conv: ConversationId, text: string): Promise<string> {
  const m = await from.client.sendText(conv, text);
  await until([from.client, ...to.map((d) => d.client)], async () => (await Promise.all(to.map((d) => find(d, conv, m.uid)))).every((x) => textOf(x) === text), 30_000, `"${text}" delivered`);
  return m.uid;
}

describe('convergent state through real engines', () => {
  it('an edit and a reaction made offline on two devices both survive', { timeout: 90_000 }, async () => {
    const { a, b, dm } = await pair('crdt-off');
    const uid = await said(a, [b], dm, 'see you at 5');
    await Promise.all([a.client.stop(), b.client.stop()]);
    await a.client.crdt.editMessage(dm, uid, 'see you at 6');
    await b.client.crdt.react(dm, uid, '👍');
    // Offline, each device shows its own change at once.
    expect(textOf(await find(a, dm, uid))).toBe('see you at 6');
    expect((await find(b, dm, uid))?.annotations?.reactions).toEqual({ '👍': [String(b.creds.userId)] });
    const [a2, b2] = await Promise.all([a.restart(), b.restart()]);
    const both = [a2.client, b2.client];
    for (const d of [a2, b2]) {
      await until(both, async () => {
        const m = await find(d, dm, uid);
        return textOf(m) === 'see you at 6' && m?.annotations?.reactions['👍']?.[0] === String(b.creds.userId);
      }, 30_000, 'edit and reaction everywhere');
      const m = await find(d, dm, uid);
      expect(m?.annotations?.edits.map((e) => e.text)).toEqual(['see you at 6']);
    }
    // Bob cannot edit Alice's message: refused before anything changes.
    await expect(b2.client.crdt.editMessage(dm, uid, 'forged')).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('delete for everyone removes the content on every device and the server keeps no plaintext', { timeout: 90_000 }, async () => {
    const { s, a, b, dm } = await pair('crdt-del');
    const secret = 'the launch code is 0000-crdt';
    const uid = await said(a, [b], dm, secret);
    await a.client.crdt.editMessage(dm, uid, `${secret} (edited)`);
    await b.client.crdt.react(dm, uid, '😮');
    await until([a.client, b.client], async () => textOf(await find(b, dm, uid)) === `${secret} (edited)` && Object.keys((await find(a, dm, uid))?.annotations?.reactions ?? {}).length === 1, 30_000, 'edit and reaction seen');
    await a.client.crdt.deleteForEveryone(dm, uid);
    for (const d of [a, b]) {
      await until([a.client, b.client], async () => (await find(d, dm, uid))?.annotations?.deleted != null && textOf(await find(d, dm, uid)) === '', 30_000, 'deleted everywhere');
      const m = await find(d, dm, uid);
      expect(m?.body.length).toBe(0);
      expect(m?.annotations?.edits).toEqual([]);
      expect(m?.annotations?.reactions).toEqual({});
      // Not only hidden: nothing in the device's whole replica (rows, documents, history) holds the text.
      expect(Buffer.from(await d.replica.exportSnapshot()).toString('latin1')).not.toContain('launch code');
    }
    const { rows } = await s.db.query<{ body: Uint8Array }>('SELECT body FROM entries WHERE conversation_id = $1', [String(dm)]);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(Buffer.from(r.body).toString('latin1')).not.toContain('launch code');
    await expect(a.client.crdt.editMessage(dm, uid, 'back')).rejects.toMatchObject({ code: 'conflict' });
  });

  it('renaming a group shows everywhere', { timeout: 90_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const [ca, cb, cc] = await Promise.all(['crdt-grp-alice', 'crdt-grp-bob', 'crdt-grp-carol'].map((n) => account(s.url, n)));
    const devices = await Promise.all([ca, cb, cc].map((c) => device(s.url, c!, { mls: true })));
    await Promise.all(devices.map(keysReady));
    const [a, b, c] = devices as [Device, Device, Device];
    const group = await a.client.createGroup('before', [cb!.userId, cc!.userId]);
    await said(a, [b, c], group, 'hello group');
    await c.client.crdt.renameGroup(group, 'after');
    await b.client.crdt.setGroupProfile(group, { description: 'weekend plans' });
    for (const d of devices) {
      await until(devices.map((x) => x.client), async () => {
        const p = await d.client.crdt.profile(group);
        return p.name === 'after' && p.description === 'weekend plans';
      }, 30_000, 'profile everywhere');
    }
    await expect(a.client.crdt.renameGroup(group, '')).rejects.toMatchObject({ code: 'invalid_argument' });
    expect((await a.client.crdt.profile(group)).name).toBe('after');
    const dm = await a.client.openDm(cb!.userId);
    await until([a.client], async () => (await a.client.conversations()).some((x) => x.id === dm), 20_000, 'dm known');
    await expect(a.client.crdt.renameGroup(dm, 'nope')).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('archive, mute and drafts in the account document follow the user to a new device', { timeout: 90_000 }, async () => {
    const { s, a, dm } = await pair('crdt-acct');
    await until([a.client], async () => (await a.client.conversations()).some((x) => x.id === dm) && (await a.client.conversations()).some((x) => x.kind === 'self'), 20_000, 'dm and self known');
    await a.client.crdt.archive(dm);
    await a.client.crdt.mute(dm);
    await a.client.crdt.setDraft(dm, 'half a thought');
    await expect(a.client.crdt.mute(dm, -1)).rejects.toMatchObject({ code: 'invalid_argument' });
    const a2 = await device(s.url, await new HttpApi({ serverUrl: s.url }).login('crdt-acct-alice', 'correct horse battery', 'second'), { mls: true });
    await until([a.client, a2.client], async () => {
      const c = await a2.client.crdt.chat(dm).catch(() => null);
      return c?.archived === true && c.mutedUntil === Infinity && c.draft === 'half a thought';
    }, 60_000, 'account state on the second device');
    // And back: unarchiving on the new device shows on the first.
    await a2.client.crdt.archive(dm, false);
    await until([a.client, a2.client], async () => (await a.client.crdt.chat(dm)).archived === false, 30_000, 'unarchived on the first device');
  });

  it('a new device gets the current state from a snapshot plus later updates', { timeout: 120_000 }, async () => {
    const { s, a, b, dm } = await pair('crdt-snap');
    const uid = await said(a, [b], dm, 'pin me');
    await a.client.crdt.pin(dm, uid);
    await b.client.crdt.react(dm, uid, '❤️');
    await a.client.crdt.editMessage(dm, uid, 'pin me (edited)');
    await until([a.client, b.client], async () => (await find(b, dm, uid))?.annotations?.pinned != null && textOf(await find(b, dm, uid)) === 'pin me (edited)', 30_000, 'state at bob');
    const before = await s.db.query<{ n: string }>('SELECT count(*) AS n FROM entries WHERE conversation_id = $1 AND type = $2', [String(dm), EntryType.Snapshot]);
    // Bob links a second device: it joins the group after those updates, so it can only read them through a snapshot.
    const b2 = await device(s.url, await new HttpApi({ serverUrl: s.url }).login('crdt-snap-bob', 'correct horse battery', 'second'), { mls: true });
    const all = [a.client, b.client, b2.client];
    await until(all, async () => {
      const m = await find(b2, dm, uid);
      return m?.annotations?.pinned != null && textOf(m) === 'pin me (edited)' && m.annotations.reactions['❤️']?.[0] === String(b.creds.userId);
    }, 60_000, 'new device has the state');
    const after = await s.db.query<{ n: string }>('SELECT count(*) AS n FROM entries WHERE conversation_id = $1 AND type = $2', [String(dm), EntryType.Snapshot]);
    expect(Number(after.rows[0]!.n)).toBeGreaterThan(Number(before.rows[0]!.n));
    // And updates after the snapshot reach it too.
    await a.client.crdt.react(dm, uid, '🎉');
    await until(all, async () => (await find(b2, dm, uid))?.annotations?.reactions['🎉']?.[0] === String(a.creds.userId), 30_000, 'later update on the new device');
  });

  // The retention store's SQL runs on both store adapters.
  it.each(['pglite', 'postgres'] as const)('the disappearing timer removes messages on every device, and the server sweep deletes their ciphertext (%s)', { timeout: 90_000 }, async (store) => {
    const { s, a, b, dm } = await pair('crdt-ttl', store);
    const keep = await said(a, [b], dm, 'before the timer');
    await a.client.crdt.setDisappearingTimer(dm, 2);
    await until([a.client, b.client], async () => (await b.client.crdt.timer(dm)).seconds === 2, 30_000, 'timer everywhere');
    expect((await s.db.query<{ seconds: number }>('SELECT seconds FROM retention WHERE conversation_id = $1', [String(dm)])).rows[0]?.seconds).toBe(2);
    const gone = await a.client.sendText(dm, 'this will vanish');
    await until([a.client, b.client], async () => (await find(b, dm, gone.uid)) !== null, 30_000, 'vanishing message delivered');
    for (const d of [a, b]) await until([a.client, b.client], async () => (await find(d, dm, gone.uid)) === null, 20_000, 'expired everywhere');
    expect(textOf(await find(b, dm, keep))).toBe('before the timer');
    // Bob goes offline; a message he never saw expires on the server before he is back.
    await b.client.stop();
    const missed = await a.client.sendText(dm, 'bob never sees this');
    await until([a.client], async () => (await find(a, dm, missed.uid))?.id != null, 20_000, 'committed');
    const swept = await s.retention.sweep(Date.now() + 10 * 60_000);
    expect(swept).toBeGreaterThanOrEqual(2);
    const texts = await s.db.query('SELECT 1 FROM entries WHERE conversation_id = $1 AND type = $2', [String(dm), EntryType.Text]);
    expect(texts.rows).toEqual([]);
    // The hole in the chain does not stall Bob: he catches up past it.
    await a.client.crdt.setDisappearingTimer(dm, 0);
    const after = await a.client.sendText(dm, 'after the sweep');
    const b2 = await b.restart();
    await until([a.client, b2.client], async () => textOf(await find(b2, dm, after.uid)) === 'after the sweep', 30_000, 'bob catches up past the hole');
    expect(await find(b2, dm, missed.uid)).toBeNull();
    // Bad input is refused with a typed error and changes nothing.
    await expect(a.client.crdt.setDisappearingTimer(dm, -5)).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(a.api.setRetention(dm, 10 ** 12)).rejects.toMatchObject({ code: 'invalid_argument' });
    const outsider = await account(s.url, 'crdt-ttl-eve');
    await expect(new HttpApi({ serverUrl: s.url, token: outsider.token }).setRetention(dm, 60)).rejects.toMatchObject({ code: 'not_found' });
    expect((await s.db.query('SELECT 1 FROM retention WHERE conversation_id = $1', [String(dm)])).rows).toEqual([]);
  });
});
