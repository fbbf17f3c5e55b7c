/**
 * Media in the engine's worker, through TidingsClient's media layer: a picked
 * file is re-encoded (images, through browserImageCodec: OffscreenCanvas,
 * which also drops EXIF), sealed under a key from the conversation's MLS
 * secret, uploaded once (deduplicated, resumable), attached and sent as a
 * media message whose descriptor travels inside the envelope (offline: queued
 * sealed in the replica, see TidingsClient.sendFile). Downloads are
 * decrypted and verified here; the page only gets the plaintext Blob, and a
 * few recent ones are kept for rows the virtual list re-mounts.
 */
import type { ConversationId } from '@tidings/shared';
import type { Message, TidingsClient } from '@tidings/client';
import { browserImageCodec, type MediaDescriptor } from '@tidings/client/media';

/** Decrypted files kept in the worker for views that re-mount (scrolling a virtual list back). */
const CACHE_ENTRIES = 24;
/** Files above this size are not cached (they are fetched again when shown again), bytes. */
const CACHE_MAX_FILE_BYTES = 8 * 1024 * 1024;

export class MediaService {
  private readonly cache = new Map<string, Promise<Blob>>();

  constructor(private readonly client: TidingsClient) {}

  /**
   * Prepares, seals, uploads and sends a file. Offline (or the server unreachable) it resolves at
   * once with the pending message: the sealed file waits in the replica and goes, before anything
   * sent after it, when the engine is online again. Rejects (nothing sent) on a refusal (bad input, quota).
   */
  async send(conversationId: ConversationId, file: Blob, fileName: string, caption: string): Promise<Message> {
    const sent = await this.client.sendFile(conversationId, { data: file, name: fileName }, { caption, imageCodec: browserImageCodec });
    return sent.message;
  }

  /** The decrypted, verified file a descriptor names. */
  open(descriptor: MediaDescriptor): Promise<Blob> {
    const key = `${descriptor.blobId}:${descriptor.sha256}`;
    const hit = this.cache.get(key);
    if (hit) {
      // Most recently used goes last.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const loading = this.download(descriptor);
    if (descriptor.size <= CACHE_MAX_FILE_BYTES) {
      this.cache.set(key, loading);
      loading.catch(() => this.cache.delete(key));
      while (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    }
    return loading;
  }

  private async download(descriptor: MediaDescriptor): Promise<Blob> {
    // Reading to the end runs the digest check; a tampered or truncated file rejects here.
    const blob = await new Response(await this.client.download(descriptor)).blob();
    return new Blob([blob], { type: descriptor.mediaType });
  }
}
