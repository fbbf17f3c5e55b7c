/**
 * The web app on a post-quantum deployment: the server is set up with the
 * X-Wing ciphersuite (MLS_CIPHERSUITE), the app reads it from GET /v1/config,
 * and two people exchange messages whose groups run in that suite.
 */
import { describe, expect, it } from 'vitest';
import { keyPackageSuite, peekMlsHeader } from '@tidings/shared';
import { useStack } from './support/stack.js';
import { UI_TIMEOUT, newDm, openChatAt, send, signUp, waitMessage } from './support/app.js';

const XWING = 'MLS_256_XWING_AES256GCM_SHA512_Ed25519';
const stack = useStack({ mlsSuite: XWING });

describe('web app on an X-Wing deployment', () => {
  it('follows the server’s suite: KeyPackages and groups are X-Wing, messages round-trip', { timeout: 90_000 }, async () => {
    const alice = await stack.user('xw-alice');
    const bob = await stack.user('xw-bob');
    await signUp(alice.page, 'xw-alice');
    await signUp(bob.page, 'xw-bob');
    await newDm(alice.page, 'xw-bob');
    await send(alice.page, 'post-quantum hello');
    await bob.page.locator('a.chat .badge', { hasText: '1' }).waitFor({ timeout: UI_TIMEOUT });
    await openChatAt(bob.page, 0);
    await waitMessage(bob.page, 'post-quantum hello');
    await send(bob.page, 'and back, post-quantum');
    await waitMessage(alice.page, 'and back, post-quantum');

    // The server accepts KeyPackages of its own suite only, so stock on the server proves the app made X-Wing keys.
    const { rows } = await stack.server.db.query<{ body: Uint8Array }>('SELECT body FROM key_packages');
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(keyPackageSuite(Buffer.from(r.body), 1 << 20)).toBe(XWING);
    const entries = await stack.server.db.query<{ body: Uint8Array; type: number }>('SELECT body, type FROM entries');
    const mls = entries.rows.filter((r) => Number(r.type) === 20 || Number(r.type) === 1);
    expect(mls.length).toBeGreaterThan(0);
    for (const r of mls) expect(() => peekMlsHeader(Buffer.from(r.body))).not.toThrow();
    for (const r of entries.rows) expect(Buffer.from(r.body).includes(Buffer.from('post-quantum'))).toBe(false);
  });
});
