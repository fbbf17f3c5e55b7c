/** SQL for media: blobs, their conversation references, and uploads in progress. */
import type { ConversationId, UserId } from '@tidings/shared';
import { big, str, type SqlExecutor } from '../storage/sql.js';
import type { BlobId } from './blob-id.js';

export interface UploadRow {
  readonly id: string;
  readonly userId: UserId;
  readonly sha256: BlobId;
  readonly size: number;
  readonly chunkBytes: number;
  readonly createdAt: number;
}

type RawUpload = { id: string; user_id: unknown; sha256: string; size: unknown; chunk_bytes: unknown; created_at: unknown };
const toUpload = (r: RawUpload): UploadRow => ({
  id: r.id,
  userId: big(r.user_id) as UserId,
  sha256: r.sha256 as BlobId,
  size: Number(r.size),
  chunkBytes: Number(r.chunk_bytes),
  createdAt: Number(r.created_at),
});

export async function blobSize(db: SqlExecutor, id: BlobId): Promise<number | undefined> {
  const { rows } = await db.query<{ size: unknown }>('SELECT size FROM blobs WHERE id = $1', [id]);
  return rows[0] ? Number(rows[0].size) : undefined;
}

/** May `user` read blob `id`: they uploaded its bytes, or they are an active member of a conversation that references it. */
export async function mayRead(db: SqlExecutor, id: BlobId, user: UserId): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM blobs b WHERE b.id = $1 AND (EXISTS (SELECT 1 FROM blob_holders h WHERE h.blob_id = b.id AND h.user_id = $2) OR EXISTS (
       SELECT 1 FROM blob_refs r JOIN members m ON m.conversation_id = r.conversation_id AND m.user_id = $2 AND m.until_id IS NULL
       WHERE r.blob_id = b.id))`,
    [id, str(user)],
  );
  return rows.length > 0;
}

/** Record a stored blob and that `user` holds it (uploaded its bytes). */
export async function insertBlob(db: SqlExecutor, id: BlobId, size: number, user: UserId, now: number): Promise<void> {
  await db.query('INSERT INTO blobs (id, size, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [id, size, now]);
  await db.query('INSERT INTO blob_holders (blob_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [id, str(user), now]);
}

/** Bytes charged to a user: blobs they uploaded plus uploads in progress (other than `except`). */
export async function usedBytes(db: SqlExecutor, user: UserId, except?: string): Promise<number> {
  const { rows } = await db.query<{ n: unknown }>(
    `SELECT (SELECT coalesce(sum(b.size), 0) FROM blob_holders h JOIN blobs b ON b.id = h.blob_id WHERE h.user_id = $1)
          + (SELECT coalesce(sum(size), 0) FROM uploads WHERE user_id = $1 AND id <> $2) AS n`,
    [str(user), except ?? ''],
  );
  return Number(rows[0]?.n ?? 0);
}

export async function addRef(db: SqlExecutor, c: ConversationId, id: BlobId, user: UserId, now: number): Promise<void> {
  await db.query('INSERT INTO blob_refs (conversation_id, blob_id, attached_by, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
    str(c),
    id,
    str(user),
    now,
  ]);
  await db.query('UPDATE blobs SET unreferenced_since = NULL WHERE id = $1', [id]);
}

export async function dropRef(db: SqlExecutor, c: ConversationId, id: BlobId, now: number): Promise<void> {
  await db.query('DELETE FROM blob_refs WHERE conversation_id = $1 AND blob_id = $2', [str(c), id]);
  await db.query('UPDATE blobs SET unreferenced_since = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM blob_refs WHERE blob_id = $1)', [id, now]);
}

/** Blobs referenced by no conversation with an active member, unreferenced since before `cutoff`. */
export async function expiredBlobs(db: SqlExecutor, cutoff: number, limit: number): Promise<BlobId[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT b.id FROM blobs b
     WHERE coalesce(b.unreferenced_since, b.created_at) < $1
       AND NOT EXISTS (SELECT 1 FROM blob_refs r JOIN members m ON m.conversation_id = r.conversation_id AND m.until_id IS NULL WHERE r.blob_id = b.id)
     LIMIT $2`,
    [cutoff, limit],
  );
  return rows.map((r) => r.id as BlobId);
}

/** Forget a blob if it is still unreferenced; true when this call removed it. */
export async function deleteBlobRow(db: SqlExecutor, id: BlobId): Promise<boolean> {
  await db.query(
    `DELETE FROM blob_refs r WHERE r.blob_id = $1 AND NOT EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = r.conversation_id AND m.until_id IS NULL)`,
    [id],
  );
  const { rows } = await db.query('DELETE FROM blobs WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM blob_refs WHERE blob_id = $1) RETURNING id', [id]);
  if (rows.length > 0) await db.query('DELETE FROM blob_holders WHERE blob_id = $1', [id]);
  return rows.length > 0;
}

export async function insertUpload(db: SqlExecutor, u: UploadRow): Promise<void> {
  await db.query('INSERT INTO uploads (id, user_id, sha256, size, chunk_bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
    u.id,
    str(u.userId),
    u.sha256,
    u.size,
    u.chunkBytes,
    u.createdAt,
  ]);
}

export async function findUpload(db: SqlExecutor, id: string): Promise<UploadRow | undefined> {
  const { rows } = await db.query<RawUpload>('SELECT * FROM uploads WHERE id = $1', [id]);
  return rows[0] && toUpload(rows[0]);
}

export async function findUploadFor(db: SqlExecutor, user: UserId, sha256: BlobId, size: number): Promise<UploadRow | undefined> {
  const { rows } = await db.query<RawUpload>('SELECT * FROM uploads WHERE user_id = $1 AND sha256 = $2 AND size = $3 ORDER BY created_at LIMIT 1', [
    str(user),
    sha256,
    size,
  ]);
  return rows[0] && toUpload(rows[0]);
}

export async function deleteUpload(db: SqlExecutor, id: string): Promise<void> {
  await db.query('DELETE FROM uploads WHERE id = $1', [id]);
}

export async function expiredUploads(db: SqlExecutor, cutoff: number, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM uploads WHERE created_at < $1 LIMIT $2', [cutoff, limit]);
  return rows.map((r) => r.id);
}
