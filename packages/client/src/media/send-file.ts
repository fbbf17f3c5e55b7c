/**
 * Files through the engine, end to end: `send` prepares a file (image
 * re-encode with a preview when a codec is given, gzip when it pays), seals it
 * under a key derived from the conversation's MLS secret (so a re-send in the
 * conversation is the same blob and uploads nothing) or a random one, asks the
 * server whether it has the blob, uploads what is missing (resuming an
 * interrupted upload), attaches the blob to the conversation and sends the
 * descriptor — key, size, digest, type, name — inside an E2EE message.
 * `download` fetches a message's blob and streams back verified plaintext.
 * Browser-safe: no Node imports (Node callers pass `fs.openAsBlob(path)`).
 */
import { ErrorCode, TidingsError, type ConversationId } from '@tidings/shared';
import { MAX_CAPTION_CHARS } from '../envelope/content.js';
import type { Message } from '../model/message.js';
import { MAX_FILE_NAME_CHARS, type MediaDescriptor } from './descriptor.js';
import type { ImageCodec, ImageOptions } from './image.js';
import { mediaTypeOf } from './media-types.js';
import { sealFile } from './seal.js';
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

export interface SentFile {
  /** The media message, as sendMedia queued it. */
  readonly message: Message;
  readonly descriptor: MediaDescriptor;
  /** What the upload did: bytes sent, deduplicated, resumed chunks. */
  readonly upload: UploadResult;
}

/** What file sending needs from the engine. */
export interface EngineMediaDeps {
  readonly http: MediaHttp;
  /** The conversation's media secret, or undefined (no E2EE, or no group yet): then the file key is random. */
  conversationSecret(conversationId: ConversationId): Promise<Uint8Array<ArrayBuffer> | undefined>;
  sendMedia(conversationId: ConversationId, descriptor: MediaDescriptor, caption: string): Promise<Message>;
}

export class EngineMedia {
  constructor(private readonly deps: EngineMediaDeps) {}

  /** Seal, upload (deduplicated, resumable), attach and send a file. Needs the server (the upload); bad input fails before any byte moves. */
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
    const upload = await this.deps.http.upload(sealed, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    await this.deps.http.attach(sealed.descriptor.blobId, String(conversationId));
    const message = await this.deps.sendMedia(conversationId, sealed.descriptor, caption);
    return { message, descriptor: sealed.descriptor, upload };
  }

  /**
   * The file of a media message (or a descriptor), decrypted and verified as it streams:
   * the stream errors with MediaIntegrityError at a bad chunk or a digest mismatch, and
   * the call rejects with a TidingsError (`not_found` when the caller may not read the blob).
   */
  async download(target: Message | MediaDescriptor): Promise<ReadableStream<Uint8Array>> {
    return this.deps.http.download(descriptorOf(target));
  }
}

/** The descriptor a media message carries; a descriptor is returned as is. */
export function descriptorOf(target: Message | MediaDescriptor): MediaDescriptor {
  if (!('content' in target)) return target;
  if (target.content.kind !== 'media') throw new TidingsError(ErrorCode.InvalidArgument, `message ${target.uid} carries no file`);
  return target.content.media;
}
