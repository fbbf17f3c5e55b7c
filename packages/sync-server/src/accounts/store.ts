/** Accounts and devices in the server store. */
import { ErrorCode, TidingsError, type DeviceId, type UserId } from '@tidings/shared';
import { big, str, type SqlExecutor } from '../storage/sql.js';

export interface UserRow {
  readonly id: UserId;
  readonly username: string;
  readonly passwordHash: string;
}

export interface DeviceAuth {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly revoked: boolean;
}

const isUniqueViolation = (err: unknown): boolean => (err as { code?: string } | null)?.code === '23505';

export async function insertUser(db: SqlExecutor, u: UserRow, now: number): Promise<void> {
  try {
    await db.query('INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)', [
      str(u.id),
      u.username,
      u.passwordHash,
      now,
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new TidingsError(ErrorCode.Conflict, 'that username is taken');
    throw err;
  }
}

export async function findUserByName(db: SqlExecutor, username: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<{ id: unknown; username: string; password_hash: string }>(
    'SELECT id, username, password_hash FROM users WHERE lower(username) = lower($1)',
    [username],
  );
  const r = rows[0];
  return r && { id: big(r.id) as UserId, username: r.username, passwordHash: r.password_hash };
}

export async function findUserById(db: SqlExecutor, id: UserId): Promise<{ id: UserId; username: string } | undefined> {
  const { rows } = await db.query<{ username: string }>('SELECT username FROM users WHERE id = $1', [str(id)]);
  const r = rows[0];
  return r && { id, username: r.username };
}

/** Which of these ids name existing users. */
export async function existingUsers(db: SqlExecutor, ids: readonly UserId[]): Promise<Set<bigint>> {
  const { rows } = await db.query<{ id: unknown }>('SELECT id FROM users WHERE id = ANY($1::bigint[])', [ids.map(str)]);
  return new Set(rows.map((r) => big(r.id)));
}

export async function insertDevice(
  db: SqlExecutor,
  d: { id: DeviceId; userId: UserId; name: string; tokenHash: Buffer },
  now: number,
): Promise<void> {
  await db.query('INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)', [
    str(d.id),
    str(d.userId),
    d.name,
    d.tokenHash,
    now,
  ]);
}

export async function deviceByTokenHash(db: SqlExecutor, tokenHash: Buffer): Promise<DeviceAuth | undefined> {
  const { rows } = await db.query<{ id: unknown; user_id: unknown; revoked_at: unknown }>(
    'SELECT id, user_id, revoked_at FROM devices WHERE token_hash = $1',
    [tokenHash],
  );
  const r = rows[0];
  return r && { deviceId: big(r.id) as DeviceId, userId: big(r.user_id) as UserId, revoked: r.revoked_at !== null };
}
