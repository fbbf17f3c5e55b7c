/** One process per profile: the CLI's lock on a profile directory (the commands themselves run in sync-server/test/cli.e2e.test.ts). */
import { mkdir, mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TidingsError } from '@tidings/shared';
import { PROFILE_LOCK_STALE_MS, lockProfile } from '../src/cli/profile.js';

describe('the profile lock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidings-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lets one holder in at a time, with a clear conflict for the second, and again after release', async () => {
    const first = await lockProfile(dir, () => {});
    await expect(lockProfile(dir, () => {})).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/in use by another tidings command/) as unknown });
    await first.release();
    const again = await lockProfile(dir, () => {});
    await again.release();
  });

  it('takes over a lock left behind by a process that died', async () => {
    await mkdir(join(dir, 'lock'));
    const old = new Date(Date.now() - 2 * PROFILE_LOCK_STALE_MS);
    await utimes(join(dir, 'lock'), old, old);
    const lock = await lockProfile(dir, () => {});
    expect((await stat(join(dir, 'lock'))).mtimeMs).toBeGreaterThan(old.getTime());
    await lock.release();
  });

  it('keeps the lock through a refresh that came too late (the machine slept) when nobody else took it', { timeout: 20_000 }, async () => {
    let lostWith: TidingsError | undefined;
    const lock = await lockProfile(dir, (error) => (lostWith = error));
    try {
      // The clock jumps past the stale bound, as after a sleep; the next refresh (every stale / 2) finds itself late.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3 * PROFILE_LOCK_STALE_MS });
      await new Promise((r) => setTimeout(r, PROFILE_LOCK_STALE_MS / 2 + 1000));
      expect(lostWith).toBeUndefined();
      // Still held by this process: another holder is refused.
      await expect(lockProfile(dir, () => {})).rejects.toMatchObject({ code: 'conflict' });
    } finally {
      vi.useRealTimers();
      await lock.release();
    }
    await (await lockProfile(dir, () => {})).release();
  });

  it('reports the lock lost when another process took it while it was held', { timeout: 20_000 }, async () => {
    const lost = new Promise<TidingsError>((resolve) => void lockProfile(dir, resolve));
    // Another holder's fresh lock in its place: the next refresh (every stale / 2) sees it is not ours.
    await new Promise((r) => setTimeout(r, 200));
    await rm(join(dir, 'lock'), { recursive: true });
    await mkdir(join(dir, 'lock'));
    await expect(lost).resolves.toMatchObject({ code: 'conflict', message: expect.stringMatching(/lost the lock/) as unknown });
  });
});
