/**
 * Files through the engine, end to end: `send` prepares a file (image
 * re-encode with a preview when a codec is given, gzip when it pays), seals it
 * under a key derived from the conversation's MLS secret (so a re-send in the
 * conversation is the same blob and uploads nothing) or a random one, asks the
 * server whether it has the blob, uploads what is missing (resuming an
 * interrupted upload), attaches the blob to the conversation and sends the
 * descriptor — key, size, digest, type, name — inside an E2EE message.
 * When the server cannot be reached (offline, refused, a retryable error) the
 * SEALED file is kept in the replica as a pending upload and the message is
 * queued at once, waiting behind it (issue #9): `drainUploads` uploads pending
 * files in order once the engine is online again, then lets the message go
 * under its original clientMsgId (the server dedups; the blob is content-addressed).
 * `download` fetches a message's blob and streams back verified plaintext.
 * Browser-safe: no Node imports (Node callers pass `fs.openAsBlob(path)`).
 */
import { ErrorCode, TidingsError, type ConversationId, type DeviceId } from '@tidings/shared';
import { MAX_CAPTION_CHARS } from '../envelope/content.js';
import type { Message } from '../model/message.js';
import type { Outbox, PendingUpload, PendingUploadStore } from '../replica/replica.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { MAX_FILE_NAME_CHARS, type MediaDescriptor } from './descriptor.js';
import type { ImageCodec, ImageOptions } from './image.js';
import { mediaTypeOf } from './media-types.js';
import { openSealed, sealFile, type SealedFile } from './seal.js';
import type { MediaHttp, UploadResult } from './transfer.js';

export interface OutgoingFile {
  /** The file: a Blob or File (read in pieces, again on resume; never held whole), or bytes. */
  readonly data: Blob | Uint8Array;
  /** Shown to the recipient and used as the default name when saving. */
  readonly name: string;
  /** Defaults to the Blob's type, else the one the name's extension implies, else application/octet-stream. */
  readonly mediaType?: string;
}

export interface SendFileOptions {
  readonly caption?: string;
  /** Images are downscaled and re-encoded, with a tiny preview, through this codec (browserImageCodec in browsers); sent as they are without one. */
  readonly imageCodec?: ImageCodec;
  readonly image?: ImageOptions;
  /** Try gzip for compressible types. Default true. */
  readonly compress?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (sentBytes: number, totalBytes: number) => void;
}

/** Largest sealed file kept in the replica to upload later, bytes; a bigger one sent offline fails with the upload's error. */
export const MAX_QUEUED_UPLOAD_BYTES = 64 * 1024 * 1024;

export interface SentFile {
  /** The media message, as sendMedia queued it (state `pending` until the server acks it). */
  readonly message: Message;
  readonly descriptor: MediaDescriptor;
  /** What the upload did: bytes sent, deduplicated, resumed chunks (all zero when `queued`). */
  readonly upload: UploadResult;
  /**
   * True when the server could not be reached: the sealed file waits in the replica and is
   * uploaded, then the message sent, once the engine is online again (even after a restart).
   */
  readonly queued: boolean;
}

/** What queuing files sent while offline needs from the engine; without it a failed upload rejects. */
export interface UploadQueueDeps {
  readonly store: PendingUploadStore & Pick<Outbox, 'markFailed'>;
  readonly deviceId: DeviceId;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Delay before the n-th retry of a failed upload, in ms (the engine's backoff). */
  retryDelay(attempts: number): number;
  /** The engine is connected (welcomed): pending uploads are tried only then. */
  online(): boolean;
  /** Writes the pending media message, its outbox item and the sealed file in one transaction. */
  queueMedia(conversationId: ConversationId, descriptor: MediaDescriptor, caption: string, ciphertext: Uint8Array): Promise<Message>;
  /** A pending file was uploaded and attached: flush the outbox (its message may go now). */
  uploaded(): void;
  /** A message row changed (a pending upload refused for good made it failed). */
  changed(message: Message): void;
}

/** What file sending needs from the engine. */
export interface EngineMediaDeps {
  readonly http: MediaHttp;
  /** The conversation's media secret, or undefined (no E2EE, or no group yet): then the file key is random. */
  conversationSecret(conversationId: ConversationId): Promise<Uint8Array<ArrayBuffer> | undefined>;
  sendMedia(conversationId: ConversationId, descriptor: MediaDescriptor, caption: string): Promise<Message>;
  /** Files sent while the server is unreachable wait in the replica (see UploadQueueDeps). */
  readonly queue?: UploadQueueDeps;
}

export class EngineMedia {
  private draining: Promise<void> | null = null;
  private drainAgain = false;
  private retryTimer: TimerHandle | null = null;
  private failures = 0;
  private stopped = false;
  /** Aborts the drain's in-flight request when the engine stops. */
  private halt = new AbortController();

  constructor(private readonly deps: EngineMediaDeps) {}

  /**
   * Seal, upload (deduplicated, resumable), attach and send a file. Bad input fails before any
   * byte moves, and so does a refusal (quota_exceeded, payload_too_large…). When the server
   * cannot be reached (network failure or a retryable error) and the engine has an upload queue,
   * the sealed file is kept and the message queued as pending: it resolves with `queued: true`.
   */
  async send(conversationId: ConversationId, file: OutgoingFile, opts: SendFileOptions = {}): Promise<SentFile> {
    const caption = opts.caption ?? '';
    if (caption.length > MAX_CAPTION_CHARS) throw new TidingsError(ErrorCode.InvalidArgument, `caption is over ${MAX_CAPTION_CHARS} characters`);
    if (file.name.length === 0 || file.name.length > MAX_FILE_NAME_CHARS) {
      throw new TidingsError(ErrorCode.InvalidArgument, `file name must be 1 to ${MAX_FILE_NAME_CHARS} characters`);
    }
    const blob = file.data instanceof Blob ? file.data : new Blob([file.data as Uint8Array<ArrayBuffer>]);
    const mediaType = file.mediaType ?? (blob.type || mediaTypeOf(file.name));
    const secret = await this.deps.conversationSecret(conversationId);
    const sealed = await sealFile(blob, {
      fileName: file.name,
      mediaType,
      ...(secret ? { conversationSecret: secret } : {}),
      ...(opts.imageCodec ? { imageCodec: opts.imageCodec } : {}),
      ...(opts.image ? { image: opts.image } : {}),
      ...(opts.compress !== undefined ? { compress: opts.compress } : {}),
    });
    let upload: UploadResult;
    try {
      upload = await this.deps.http.upload(sealed, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
      await this.deps.http.attach(sealed.descriptor.blobId, String(conversationId));
    } catch (error) {
      const queue = this.deps.queue;
      if (!queue || !canWait(error) || opts.signal?.aborted === true || sealed.descriptor.blobSize > MAX_QUEUED_UPLOAD_BYTES) throw error;
      return this.queue(queue, conversationId, sealed, caption, error);
    }
    const message = await this.deps.sendMedia(conversationId, sealed.descriptor, caption);
    return { message, descriptor: sealed.descriptor, upload, queued: false };
  }

  /** Keeps the sealed file and queues its message as pending (it waits in the outbox behind the upload). */
  private async queue(queue: UploadQueueDeps, conversationId: ConversationId, sealed: SealedFile, caption: string, cause: unknown): Promise<SentFile> {
    const ciphertext = new Uint8Array(await new Response(sealed.ciphertext()).arrayBuffer());
    const message = await queue.queueMedia(conversationId, sealed.descriptor, caption, ciphertext);
    queue.logger.info('file queued until the server is reachable', { clientMsgId: message.clientMsgId, bytes: ciphertext.length, cause: String(cause) });
    // Online but refused for now (a retryable error): try again after a delay; offline, `welcome` starts the drain.
    if (queue.online()) this.retryLater(queue);
    const upload: UploadResult = { blobId: sealed.descriptor.blobId, sentBytes: 0, deduplicated: false, resumedChunks: 0 };
    return { message, descriptor: sealed.descriptor, upload, queued: true };
  }

  /**
   * Uploads the pending files (sent while offline), oldest first, and attaches each; after each
   * one its message may leave the outbox. Call when the engine is online (after `welcome`); a
   * retryable failure is tried again with backoff, a refusal marks the message failed with its
   * typed error. Concurrent calls share one pass (a call during a pass runs another after it).
   * Resumes draining after `stop` (the engine started again).
   */
  drainUploads(): void {
    this.stopped = false;
    if (this.halt.signal.aborted) this.halt = new AbortController();
    this.kick();
  }

  private kick(): void {
    const queue = this.deps.queue;
    if (!queue || this.stopped || !queue.online()) return; // offline: `welcome` calls again
    if (this.retryTimer !== null) queue.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = this.drain(queue)
      .catch((error: unknown) => queue.logger.warn('pending uploads failed', { error: String(error) }))
      .finally(() => {
        this.draining = null;
        if (this.drainAgain) {
          this.drainAgain = false;
          this.kick();
        }
      });
  }

  /** Stops draining (the engine stops): cancels the retry and the request in flight, and waits for the pass to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== null) this.deps.queue?.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.halt.abort();
    await this.draining;
  }

  private async drain(queue: UploadQueueDeps): Promise<void> {
    for (const pending of await queue.store.pendingUploads()) {
      if (this.stopped || !queue.online()) return;
      try {
        await this.deps.http.upload(storedSealed(pending), { signal: this.halt.signal });
        await this.deps.http.attach(pending.descriptor.blobId, String(pending.conversationId));
      } catch (error) {
        if (this.stopped) return;
        if (canWait(error)) {
          queue.logger.info('pending upload will be retried', { clientMsgId: pending.clientMsgId, error: String(error) });
          this.failures += 1;
          this.retryLater(queue);
          return; // later files wait: they go in order
        }
        const code = error instanceof TidingsError ? error.code : ErrorCode.Internal;
        const failed = await queue.store.markFailed(queue.deviceId, pending.clientMsgId, { code, message: error instanceof Error ? error.message : String(error) });
        if (failed) queue.changed(failed);
        continue;
      }
      this.failures = 0;
      await queue.store.uploadDone(pending.clientMsgId);
      queue.uploaded();
    }
  }

  private retryLater(queue: UploadQueueDeps): void {
    if (this.retryTimer !== null || this.stopped) return;
    this.retryTimer = queue.clock.setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, queue.retryDelay(Math.max(1, this.failures)));
  }

  /**
   * The file of a media message (or a descriptor), decrypted and verified as it streams:
   * the stream errors with MediaIntegrityError at a bad chunk or a digest mismatch, and
   * the call rejects with a TidingsError (`not_found` when the caller may not read the blob).
   */
  async download(target: Message | MediaDescriptor): Promise<ReadableStream<Uint8Array>> {
    const descriptor = descriptorOf(target);
    // One's own file that is not uploaded yet opens from its sealed copy (offline too).
    const pending = await this.deps.queue?.store.pendingUploadOf(descriptor.blobId);
    if (pending) return openSealed(descriptor, storedSealed(pending).ciphertext());
    return this.deps.http.download(descriptor);
  }
}

/** A pending upload as a SealedFile: its stored ciphertext, streamed. */
function storedSealed(pending: PendingUpload): SealedFile {
  return { descriptor: pending.descriptor, ciphertext: () => new Blob([pending.ciphertext as Uint8Array<ArrayBuffer>]).stream() as ReadableStream<Uint8Array> };
}

/**
 * An upload failure worth waiting out: the network (fetch rejects with a TypeError when
 * offline, refused or unresolvable) or a retryable server error. Refusals (quota, size,
 * access) and an abort are not.
 */
function canWait(error: unknown): boolean {
  if (error instanceof TidingsError) return error.retryable;
  return error instanceof TypeError;
}

/** The descriptor a media message carries; a descriptor is returned as is. */
export function descriptorOf(target: Message | MediaDescriptor): MediaDescriptor {
  if (!('content' in target)) return target;
  if (target.content.kind !== 'media') throw new TidingsError(ErrorCode.InvalidArgument, `message ${target.uid} carries no file`);
  return target.content.media;
}
