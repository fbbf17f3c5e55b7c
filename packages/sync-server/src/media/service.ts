/**
 * Media rules: resumable and single-request uploads, dedup, quota, who may
 * read a blob, conversation references and the retention sweep.
 *
 * Who may read: every user who uploaded its bytes, and the active members of every conversation
 * the blob was attached to (POST /v1/blobs/:id/attach, called by the sender
 * before it sends the message that carries the blob's key). Attaching needs
 * read access already (uploader, or a member of a conversation that has it:
 * a forward), so a blob id alone grants nothing; and `exists` answers true only
 * to those who may read, so it is no oracle for other users' blobs.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { ErrorCode, TidingsError, type ConversationId, type UserId } from '@tidings/shared';
import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql.js';
import { parseBlobId, type BlobId } from './blob-id.js';
import type { BlobStore, ByteRange } from './blob-store.js';
import type { MediaConfig } from './config.js';
import * as sql from './store.js';
import { byteLimit, newUploadId, type Staging, type UploadStaging } from './staging.js';

export interface UploadState {
  readonly uploadId: string | null;
  readonly exists: boolean;
  readonly chunkBytes: number;
  readonly chunkCount: number;
  readonly received: number[];
}

export interface MediaDeps {
  readonly db: SqlClient;
  readonly blobs: BlobStore;
  /** Chunks of resumable uploads (on local disk, or in S3 so any node can resume). */
  readonly staging: UploadStaging;
  /** Local scratch files for one-request uploads. */
  readonly scratch: Staging;
  readonly config: MediaConfig;
  readonly clock: () => number;
  readonly logger: Logger;
}

const chunkCount = (size: number, chunk: number): number => Math.max(1, Math.ceil(size / chunk));

export class Media {
  constructor(private readonly d: MediaDeps) {}

  private checkSize(size: number): void {
    if (size > this.d.config.maxBlobBytes) throw new TidingsError(ErrorCode.PayloadTooLarge, `file is ${size} bytes; the limit is ${this.d.config.maxBlobBytes}`);
  }

  private async checkQuota(user: UserId, size: number, except?: string): Promise<void> {
    const used = await sql.usedBytes(this.d.db, user, except);
    if (used + size > this.d.config.quotaBytes) {
      throw new TidingsError(ErrorCode.QuotaExceeded, `storage quota exceeded: ${used} of ${this.d.config.quotaBytes} bytes used, ${size} more requested`);
    }
  }

  /** Start (or find) an upload of blob `sha256`; `exists` when the caller may already read it, so no bytes need be sent. */
  async begin(user: UserId, sha256: BlobId, size: number): Promise<UploadState> {
    this.checkSize(size);
    const chunkBytes = this.d.config.chunkBytes;
    if ((await sql.blobSize(this.d.db, sha256)) !== undefined && (await sql.mayRead(this.d.db, sha256, user))) {
      return { uploadId: null, exists: true, chunkBytes, chunkCount: chunkCount(size, chunkBytes), received: [] };
    }
    const found = await sql.findUploadFor(this.d.db, user, sha256, size);
    if (found) return this.state(found);
    await this.checkQuota(user, size);
    const row: sql.UploadRow = { id: newUploadId(), userId: user, sha256, size, chunkBytes, createdAt: this.d.clock() };
    await sql.insertUpload(this.d.db, row);
    return this.state(row);
  }

  private async state(u: sql.UploadRow): Promise<UploadState> {
    return { uploadId: u.id, exists: false, chunkBytes: u.chunkBytes, chunkCount: chunkCount(u.size, u.chunkBytes), received: await this.d.staging.received(u.id) };
  }

  private async upload(user: UserId, uploadId: string): Promise<sql.UploadRow> {
    const u = await sql.findUpload(this.d.db, uploadId);
    if (!u || u.userId !== user) throw new TidingsError(ErrorCode.NotFound, 'no such upload');
    return u;
  }

  async status(user: UserId, uploadId: string): Promise<UploadState> {
    return this.state(await this.upload(user, uploadId));
  }

  /** Store chunk `index` (every chunk is chunkBytes long but the last). */
  async putChunk(user: UserId, uploadId: string, index: number, body: Readable): Promise<void> {
    const u = await this.upload(user, uploadId);
    const count = chunkCount(u.size, u.chunkBytes);
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new TidingsError(ErrorCode.InvalidArgument, `chunk index must be 0..${count - 1}`);
    const length = index === count - 1 ? u.size - index * u.chunkBytes : u.chunkBytes;
    await this.d.staging.putChunk(u.id, index, length, body);
  }

  /** Verify the whole ciphertext against its hash, then make the blob visible. */
  async complete(user: UserId, uploadId: string): Promise<{ fileId: BlobId; size: number }> {
    const u = await this.upload(user, uploadId);
    const count = chunkCount(u.size, u.chunkBytes);
    const have = await this.d.staging.received(u.id);
    if (have.length !== count) throw new TidingsError(ErrorCode.Conflict, `upload incomplete: ${have.length} of ${count} chunks received`);
    try {
      await this.d.blobs.put(u.sha256, this.d.staging.read(u.id, count));
    } catch (err) {
      if (err instanceof TidingsError && err.code === ErrorCode.InvalidArgument) {
        // The chunks do not hash to the announced id: discard them, the client must start over.
        await this.discard(u.id);
      }
      throw err;
    }
    await sql.insertBlob(this.d.db, u.sha256, u.size, user, this.d.clock());
    await this.discard(u.id);
    return { fileId: u.sha256, size: u.size };
  }

  private async discard(uploadId: string): Promise<void> {
    await sql.deleteUpload(this.d.db, uploadId);
    await this.d.staging.remove(uploadId);
  }

  /** One-request upload of a small file (POST /uploadFile); the id is computed, and checked against `expected` if given. */
  async uploadSingle(user: UserId, body: Readable, expected?: BlobId): Promise<{ fileId: BlobId; size: number }> {
    const max = Math.min(this.d.config.maxSingleUploadBytes, this.d.config.maxBlobBytes);
    const scratch = this.d.scratch.scratchPath();
    try {
      await this.d.scratch.ensure();
      const limit = byteLimit(max, 'file (use resumable uploads for large files)');
      const hash = createHash('sha256');
      const hasher = new Transform({ transform: (c: Buffer, _e, done) => (hash.update(c), done(null, c)) });
      await pipeline(body, limit, hasher, createWriteStream(scratch, { flags: 'wx' }));
      const id = parseBlobId(hash.digest('hex'));
      if (expected !== undefined && expected !== id) throw new TidingsError(ErrorCode.InvalidArgument, `content hash mismatch: the bytes hash to ${id}`);
      if (!(await sql.mayRead(this.d.db, id, user))) {
        await this.checkQuota(user, limit.count);
        await this.d.blobs.put(id, createReadStream(scratch));
        await sql.insertBlob(this.d.db, id, limit.count, user, this.d.clock());
      }
      return { fileId: id, size: limit.count };
    } finally {
      await rm(scratch, { force: true });
    }
  }

  private async requireRead(user: UserId, id: BlobId): Promise<number> {
    const size = await sql.blobSize(this.d.db, id);
    if (size === undefined || !((await sql.mayRead(this.d.db, id, user)) )) {
      throw new TidingsError(ErrorCode.NotFound, 'no such file'); // whether it exists is none of a stranger's business
    }
    return size;
  }

  /** Record that conversation `c` (of which `user` is an active member) references blob `id`. */
  async attach(user: UserId, id: BlobId, c: ConversationId): Promise<void> {
    await this.requireActiveMember(c, user);
    await this.requireRead(user, id);
    await sql.addRef(this.d.db, c, id, user, this.d.clock());
  }

  /** Drop conversation `c`'s reference (e.g. every message carrying it was deleted); the sweep removes the blob after retention. */
  async detach(user: UserId, id: BlobId, c: ConversationId): Promise<void> {
    await this.requireActiveMember(c, user);
    await sql.dropRef(this.d.db, c, id, this.d.clock());
  }

  private async requireActiveMember(c: ConversationId, user: UserId): Promise<void> {
    const { rows } = await this.d.db.query('SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2 AND until_id IS NULL', [String(c), String(user)]);
    if (rows.length === 0) throw new TidingsError(ErrorCode.NotAMember, 'you are not a member of this conversation');
  }

  /** Open blob `id` (or a range of it) for a reader allowed to see it. */
  async open(user: UserId, id: BlobId, range: (size: number) => ByteRange | undefined): Promise<{ size: number; range: ByteRange | undefined; body: Readable }> {
    const size = await this.requireRead(user, id);
    const r = range(size);
    return { size, range: r, body: await this.d.blobs.get(id, r) };
  }

  async usage(user: UserId): Promise<{ used: number; quota: number }> {
    return { used: await sql.usedBytes(this.d.db, user), quota: this.d.config.quotaBytes };
  }

  /** Delete blobs unreferenced for longer than the retention period, and uploads past their TTL. */
  async sweep(batch = 500): Promise<{ blobs: number; uploads: number }> {
    const now = this.d.clock();
    let blobs = 0;
    for (const id of await sql.expiredBlobs(this.d.db, now - this.d.config.retentionMs, batch)) {
      // Row first: once it is gone nobody is granted the blob, then the bytes go.
      if (await sql.deleteBlobRow(this.d.db, id)) {
        await this.d.blobs.delete(id);
        blobs++;
      }
    }
    const uploads = await sql.expiredUploads(this.d.db, now - this.d.config.uploadTtlMs, batch);
    for (const u of uploads) await this.discard(u);
    if (blobs + uploads.length > 0) this.d.logger.info({ blobs, uploads: uploads.length }, 'media sweep');
    return { blobs, uploads: uploads.length };
  }
}
