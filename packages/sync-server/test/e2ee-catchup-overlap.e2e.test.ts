/**
 * Catch-up pages of different conversations overlap (issue #11, target 5):
 * while one conversation's page is still being stored, the next one's is
 * opened and stored; `synced`, and the next socket's cursor, wait for both.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionState } from '@tidings/client';
import type { ConversationId } from '@tidings/shared';
import type { OpenedEntry } from '../../client/src/replica/replica.js';
import { testBackend } from './support/server.js';
import { account, device, history, keysReady, texts, until } from './support/devices.js';

/** Groups Bob misses messages in while he is offline. */
const GROUPS = 3;
/** Messages Alice sends in each while he is away. */
const MISSED = 3;

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * Alice and Bob share GROUPS groups; Bob has read the greeting in each and
 * gone offline, and Alice has sent MISSED more in each. Bob's engine is made
 * but not started, its replica's applyEntries replaced by `store` (which gets
 * the real one as its last argument).
 */
async function missedWhileOffline(
  name: string,
  store: (conversationId: ConversationId, opened: readonly OpenedEntry[], real: (c: ConversationId, o: readonly OpenedEntry[]) => Promise<unknown>) => Promise<unknown>,
) {
  const s = await (await testBackend('pglite')).start();
  const a = await device(s.url, await account(s.url, `${name}-alice`), { mls: true });
  let b = await device(s.url, await account(s.url, `${name}-bob`), { mls: true });
  await Promise.all([keysReady(a), keysReady(b)]);
  const groups: ConversationId[] = [];
  for (let g = 0; g < GROUPS; g++) {
    const group = await a.client.createGroup(`${name} ${g}`, [b.creds.userId]);
    await a.client.sendText(group, `hello ${g}`);
    groups.push(group);
  }
  for (const [g, group] of groups.entries()) {
    await until([a.client, b.client], async () => texts(await history(b.client, group)).includes(`hello ${g}`), 30_000, 'bob joined');
  }
  await a.client.whenIdle(15_000);
  await b.client.whenIdle(15_000);

  b = await b.restart({ start: false });
  const missed = groups.map((_, g) => Array.from({ length: MISSED }, (_, i) => `missed ${g}.${i}`));
  for (const [g, group] of groups.entries()) for (const text of missed[g]!) await a.client.sendText(group, text);
  await a.client.whenIdle(15_000);

  const replica = b.replica;
  const real = replica.applyEntries.bind(replica);
  replica.applyEntries = (conversationId, opened) => store(conversationId, opened, real) as ReturnType<typeof real>;
  let synced = 0;
  b.client.on('synced', () => (synced += 1));
  return {
    b,
    groups,
    synced: () => synced,
    /** Every group holds its greeting and the missed messages, each once, in order, all readable. */
    async expectAll(): Promise<void> {
      for (const [g, group] of groups.entries()) {
        const all = await history(b.client, group);
        expect(all.filter((m) => m.content.kind === 'unreadable')).toEqual([]);
        expect(texts(all)).toEqual([`hello ${g}`, ...missed[g]!]);
      }
    },
  };
}

describe('catch-up over MLS', () => {
  it('opens a page again after storing it failed: its messages come back readable, not used up', { timeout: 90_000 }, async () => {
    // The first page's transaction fails (a full disk, or the app closed mid-write). The ratchet steps its
    // decryption took must not be kept without its rows: the entries come again on the next socket and must open.
    let failed: ConversationId | undefined;
    const t = await missedWhileOffline('store-fails', async (conversationId, opened, real) => {
      if (failed === undefined && t.groups.includes(conversationId)) {
        failed = conversationId;
        throw new Error('injected failure before storing');
      }
      return real(conversationId, opened);
    });
    const errors: string[] = [];
    t.b.client.on('error', (e) => errors.push(e.message));
    t.b.client.start();
    await until([t.b.client], async () => t.synced() > 0, 45_000, 'synced after the failure');
    expect(errors.some((m) => m.includes('injected failure'))).toBe(true);
    await t.expectAll();
  });

  it('a page with a Commit inside: when its write fails, the messages before the Commit still open', { timeout: 90_000 }, async () => {
    // A Commit saves its group the moment it applies. Stored in one piece with the page, the messages before it
    // had their keys used in that save while their rows were not written: they came back unreadable.
    const s = await (await testBackend('pglite')).start();
    const a = await device(s.url, await account(s.url, 'commit-page-alice'), { mls: true });
    let b = await device(s.url, await account(s.url, 'commit-page-bob'), { mls: true });
    const c = await device(s.url, await account(s.url, 'commit-page-carol'), { mls: true });
    await Promise.all([keysReady(a), keysReady(b), keysReady(c)]);
    const group = await a.client.createGroup('commit page', [b.creds.userId]);
    await a.client.sendText(group, 'hello');
    await until([a.client, b.client], async () => texts(await history(b.client, group)).includes('hello'), 30_000, 'bob joined');
    await b.client.whenIdle(15_000);
    b = await b.restart({ start: false });
    await a.client.sendText(group, 'before carol');
    await a.client.addMembers(group, [c.creds.userId]);
    await until([a.client, c.client], async () => (await a.client.groupState(group))?.members.length === 3, 30_000, 'carol added');
    await a.client.sendText(group, 'after carol');
    await a.client.whenIdle(15_000);

    const store = b.replica.applyEntries.bind(b.replica);
    let failed = false;
    b.replica.applyEntries = async (conversationId, opened, groups) => {
      if (!failed && conversationId === group) {
        failed = true;
        throw new Error('injected failure before storing');
      }
      return store(conversationId, opened, groups);
    };
    let synced = 0;
    b.client.on('synced', () => (synced += 1));
    b.client.start();
    await until([b.client], async () => synced > 0 && texts(await history(b.client, group)).includes('after carol'), 45_000, 'bob caught up');
    expect(failed).toBe(true);
    const all = await history(b.client, group);
    expect(all.filter((m) => m.content.kind === 'unreadable')).toEqual([]);
    expect(texts(all)).toEqual(['hello', 'before carol', 'after carol']);
  });

  it('stores the next conversation’s page while one is still being stored, and reports synced after both', { timeout: 90_000 }, async () => {
    const held = gate();
    let first: ConversationId | undefined;
    const storedWhileHeld: ConversationId[] = [];
    const t = await missedWhileOffline('overlap', async (conversationId, opened, real) => {
      if (first === undefined && t.groups.includes(conversationId)) {
        first = conversationId; // the first page stored is held until released
        await held.promise;
      } else if (first !== undefined && conversationId !== first) {
        storedWhileHeld.push(conversationId);
      }
      return real(conversationId, opened);
    });
    t.b.client.start();
    try {
      await until([t.b.client], async () => storedWhileHeld.length > 0, 30_000, 'another conversation stored while the first page is held');
      expect(t.groups).toContain(storedWhileHeld[0]);
      // Every catch-up page is in before the client says synced.
      await new Promise((r) => setTimeout(r, 300));
      expect(t.synced()).toBe(0);
    } finally {
      held.open(); // also when the test failed: the engine's stop waits for the held page
    }
    await until([t.b.client], async () => t.synced() > 0, 30_000, 'synced after the held page');
    await t.expectAll();
  });

  it('recovers from a page that fails while another is in flight: reconnects, and every message is stored once, readable', { timeout: 90_000 }, async () => {
    // Page A is stored, then its step fails: the engine drops the socket and reconnects. Page B, in flight beside
    // it, is held until half a second after the engine is connecting again, so the new socket starts while B is
    // still being stored; B must be stored once, and the new socket's catch-up (its cursor) must not lose or
    // repeat anything.
    const bEntered = gate();
    const releaseB = gate();
    let a: ConversationId | undefined;
    let b: ConversationId | undefined;
    let bPages = 0;
    const t = await missedWhileOffline('overlap-fail', async (conversationId, opened, real) => {
      if (a === undefined && t.groups.includes(conversationId)) {
        a = conversationId;
        await bEntered.promise;
        await real(conversationId, opened);
        throw new Error('injected failure after storing');
      }
      if (b === undefined && a !== undefined && conversationId !== a) {
        b = conversationId;
        bEntered.open();
        await releaseB.promise;
      }
      if (conversationId === b) bPages += 1;
      return real(conversationId, opened);
    });
    const states: ConnectionState[] = [];
    t.b.client.on('status', (s) => {
      states.push(s);
      if (b !== undefined && s === ConnectionState.Connecting) setTimeout(releaseB.open, 500);
    });
    const errors: string[] = [];
    t.b.client.on('error', (e) => errors.push(e.message));
    t.b.client.start();
    try {
      await until([t.b.client], async () => t.synced() > 0, 45_000, 'synced again after the failure');
    } finally {
      releaseB.open();
    }
    expect(errors.some((m) => m.includes('injected failure'))).toBe(true);
    expect(states.filter((s) => s === ConnectionState.Connecting).length).toBeGreaterThanOrEqual(2); // it did reconnect
    expect(b).toBeDefined();
    expect(bPages).toBe(1);
    await t.expectAll();
  });
});
