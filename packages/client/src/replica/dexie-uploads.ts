/**
 * Pending uploads in the Dexie replica (schema version 5): a file sent while
 * the server was unreachable is kept here SEALED (ciphertext only, the exact
 * blob the server will store) next to its media message's outbox item, until
 * the engine uploads and attaches it. While its row exists the outbox item is
 * reported `awaitingUpload`, so it and its conversation's later sends wait.
 */
import type { Table } from 'dexie';
import { parseConversationId } from '@tidings/shared';
import type { MediaDescriptor } from '../media/descriptor.js';
import type { PendingUpload } from './replica.js';

export interface PendingUploadRow {
  clientMsgId: string;
  conversationId: string;
  /** Indexed: the sender opens its own file from here before it is uploaded. */
  blobId: string;
  descriptor: MediaDescriptor;
  ciphertext: Uint8Array;
  createdAt: number;
}

/** Tables added by schema version 5. */
export const UPLOAD_STORES = { pendingUploads: 'clientMsgId, createdAt, blobId' };

export interface UploadTables {
  pendingUploads: Table<PendingUploadRow, string>;
}

export const uploadToRow = (u: PendingUpload): PendingUploadRow => ({
  clientMsgId: u.clientMsgId,
  conversationId: String(u.conversationId),
  blobId: u.descriptor.blobId,
  descriptor: u.descriptor,
  ciphertext: u.ciphertext,
  createdAt: u.createdAt,
});

export const uploadFromRow = (r: PendingUploadRow): PendingUpload => ({
  clientMsgId: r.clientMsgId,
  conversationId: parseConversationId(r.conversationId),
  descriptor: r.descriptor,
  ciphertext: r.ciphertext,
  createdAt: r.createdAt,
});

/** Reads of the pending-upload table (writes that touch other tables live in DexieReplica's transactions). */
export class DexieUploads {
  constructor(private readonly db: UploadTables) {}

  async pendingUploads(): Promise<PendingUpload[]> {
    return (await this.db.pendingUploads.orderBy('createdAt').toArray()).map(uploadFromRow);
  }

  async pendingUploadOf(blobId: string): Promise<PendingUpload | null> {
    const row = await this.db.pendingUploads.where('blobId').equals(blobId).first();
    return row ? uploadFromRow(row) : null;
  }

  async uploadDone(clientMsgId: string): Promise<void> {
    await this.db.pendingUploads.delete(clientMsgId);
  }
}
