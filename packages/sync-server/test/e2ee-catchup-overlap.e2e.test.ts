/**
 * Catch-up pages of different conversations overlap (issue #11, target 5):
 * while one conversation's page is still being stored, the next one's is
 * opened and stored; `synced` waits for both, and nothing is lost.
 */
import { describe, expect, it } from 'vitest';
import type { ConversationId } from '@tidings/shared';
import { testBackend } from './support/server.js';
import { account, device, history, texts, until, type Device } from './support/devices.js';

/** Groups Bob misses messages in while he is offline. */
const GROUPS = 3;
/** Messages Alice sends in each while he is away. */
const MISSED = 3;

const keysReady = async (d: Device): Promise<void> => {
  await until([d.client], async () => (await d.api.keyPackageStock()).stock > 10, 15_000, 'KeyPackages uploaded');
};

describe('catch-up over MLS', () => {
  it('stores the next conversation’s page while one is still being stored, and reports synced after both', { timeout: 90_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const a = await device(s.url, await account(s.url, 'overlap-alice'), { mls: true });
    let b = await device(s.url, await account(s.url, 'overlap-bob'), { mls: true });
    await Promise.all([keysReady(a), keysReady(b)]);
    const groups: ConversationId[] = [];
    for (let g = 0; g < GROUPS; g++) {
      const group = await a.client.createGroup(`overlap ${g}`, [b.creds.userId]);
      await a.client.sendText(group, `hello ${g}`);
      groups.push(group);
    }
    for (const group of groups) {
      await until([a.client, b.client], async () => texts(await history(b.client, group)).includes(`hello ${groups.indexOf(group)}`), 30_000, 'bob joined');
    }
    await a.client.whenIdle(15_000);
    await b.client.whenIdle(15_000);

    b = await b.restart({ start: false });
    const missed = groups.map((_, g) => Array.from({ length: MISSED }, (_, i) => `missed ${g}.${i}`));
    for (const [g, group] of groups.entries()) for (const text of missed[g]!) await a.client.sendText(group, text);
    await a.client.whenIdle(15_000);

    // The first page Bob stores is held at the replica until released; record what else is stored meanwhile.
    const replica = b.replica;
    const store = replica.applyEntries.bind(replica);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held: ConversationId | undefined;
    const storedWhileHeld: ConversationId[] = [];
    replica.applyEntries = async (conversationId, opened) => {
      if (held === undefined && groups.includes(conversationId)) {
        held = conversationId;
        await gate;
      } else if (held !== undefined && conversationId !== held) {
        storedWhileHeld.push(conversationId);
      }
      return store(conversationId, opened);
    };
    let synced = false;
    b.client.on('synced', () => (synced = true));
    b.client.start();
    try {
      await until([b.client], async () => storedWhileHeld.length > 0, 30_000, 'another conversation stored while the first page is held');
      expect(groups).toContain(storedWhileHeld[0]);
      expect(storedWhileHeld).not.toContain(held);
      // Every catch-up page is in before the client says synced.
      await new Promise((r) => setTimeout(r, 300));
      expect(synced).toBe(false);
    } finally {
      release(); // also when the test failed: the engine's stop waits for the held page
    }
    await until([b.client], async () => synced, 30_000, 'synced after the held page');
    for (const [g, group] of groups.entries()) {
      expect(texts(await history(b.client, group))).toEqual([`hello ${g}`, ...missed[g]!]);
    }
  });
});
