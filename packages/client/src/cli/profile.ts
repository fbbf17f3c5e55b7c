/** Saved credentials: `<profile>/credentials.json`, readable by the owner only (0600); and the lock that keeps a profile to one process. */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { ErrorCode, TidingsError, parseDeviceId, parseUserId } from '@tidings/shared';
import type { Credentials } from '../api/http-api.js';

export interface Profile extends Credentials {
  readonly server: string;
  readonly username: string;
}

const file = (dir: string): string => join(dir, 'credentials.json');

export async function saveProfile(dir: string, profile: Profile): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = file(dir);
  const json = {
    server: profile.server,
    username: profile.username,
    user_id: String(profile.userId),
    device_id: String(profile.deviceId),
    token: profile.token,
  };
  await writeFile(path, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600); // writeFile's mode applies only when it creates the file
  return path;
}

export async function loadProfile(dir: string): Promise<Profile> {
  let text: string;
  try {
    text = await readFile(file(dir), 'utf8');
  } catch {
    throw new TidingsError(ErrorCode.Unauthenticated, `not logged in (no ${file(dir)}); run \`tidings login <username>\``);
  }
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    if (typeof json.token !== 'string' || typeof json.server !== 'string') throw new TypeError('missing fields');
    return {
      server: json.server,
      username: typeof json.username === 'string' ? json.username : '',
      userId: parseUserId(json.user_id),
      deviceId: parseDeviceId(json.device_id),
      token: json.token,
    };
  } catch (error) {
    throw new TidingsError(ErrorCode.InvalidArgument, `${file(dir)} is corrupt (${String(error)}); log in again`);
  }
}

/**
 * A profile is one device, and one process at a time may run it: two processes would load the same
 * MLS state, reuse a ratchet generation and make messages nobody can read. The lock is a directory
 * inside the profile (proper-lockfile), refreshed while held; one left by a process that died goes
 * stale after PROFILE_LOCK_STALE_MS and is then taken over.
 */
export const PROFILE_LOCK_STALE_MS = 10_000;

export interface ProfileLock {
  release(): Promise<void>;
}

/**
 * Lock `dir` for this process, or fail with `conflict` if another process holds it. A refresh that
 * comes late (the machine slept past PROFILE_LOCK_STALE_MS) keeps the lock if nobody took it
 * meanwhile (proper-lockfile checks the lock's mtime is still its own); `onLost` is called if
 * somebody did.
 */
export async function lockProfile(dir: string, onLost: (error: TidingsError) => void): Promise<ProfileLock> {
  const release = await acquire(dir, (error) => onLost(lost(dir, error)));
  return { release: () => release().catch(() => undefined) };
}

const lost = (dir: string, error: Error): TidingsError =>
  new TidingsError(ErrorCode.Conflict, `lost the lock on profile ${dir} to another tidings command (${error.message})`);

async function acquire(dir: string, onCompromised: (error: Error) => void): Promise<() => Promise<void>> {
  try {
    return await lockfile.lock(dir, { lockfilePath: join(dir, 'lock'), stale: PROFILE_LOCK_STALE_MS, retries: 0, onCompromised });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new TidingsError(ErrorCode.Conflict, `profile ${dir} is in use by another tidings command (one profile is one device); stop it first, e.g. its watch`);
    }
    throw new TidingsError(ErrorCode.Internal, `cannot lock profile ${dir}: ${String(error)}`);
  }
}
