/**
 * Media in the engine's worker: a picked file is re-encoded (images, through
 * browserImageCodec: OffscreenCanvas, which also drops EXIF), sealed with a
 * fresh key, uploaded (the server is asked first; interrupted uploads resume),
 * attached to the conversation and sent as a media message whose descriptor
 * (with the key) travels inside the MLS envelope. Downloads are decrypted and
 * verified here; the page only gets the plaintext Blob to show.
 *
 * TODO(@tidings/client/media): switch to the library's higher-level
 * `sendFile` / `download` once they land; this composes the same primitives.
 */
import type { ConversationId } from '@tidings/shared';
import { browserImageCodec, MediaHttp, sealFile, type MediaDescriptor } from '@tidings/client/media';

/** Decrypted files kept in the worker for views that re-mount (scrolling a virtual list back). */
const CACHE_ENTRIES = 24;
/** Files above this size are not cached (they are fetched again when shown again), bytes. */
const CACHE_MAX_FILE_BYTES = 8 * 1024 * 1024;

export interface MediaOptions {
  readonly serverUrl: string;
  readonly token: string;
}

export class MediaService {
  private readonly http: MediaHttp;
  private readonly cache = new Map<string, Promise<Blob>>();

  constructor(options: MediaOptions) {
    this.http = new MediaHttp({ baseUrl: options.serverUrl, token: options.token });
  }

  /** Seals and uploads a file, and attaches it to the conversation; returns the descriptor to send. */
  async upload(conversationId: ConversationId, file: Blob, fileName: string): Promise<MediaDescriptor> {
    const sealed = await sealFile(file, { fileName, imageCodec: browserImageCodec });
    await this.http.upload(sealed);
    await this.http.attach(sealed.descriptor.blobId, conversationId.toString());
    return sealed.descriptor;
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
    const plain = await this.http.download(descriptor);
    // Reading to the end runs the digest check; a tampered or truncated file rejects here.
    const blob = await new Response(plain).blob();
    return new Blob([blob], { type: descriptor.mediaType });
  }
}
