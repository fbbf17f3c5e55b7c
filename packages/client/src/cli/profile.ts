/** Saved credentials: `<profile>/credentials.json`, readable by the owner only (0600). */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
