/**
 * Media over HTTP: resumable chunked upload (ask first: an existing blob sends
 * no bytes), attach to a conversation, and streamed (ranged) download.
 */
import { ErrorCode, TidingsError, isErrorCode } from '@tidings/shared';
import { fixedPieces } from './bytes.js';
import type { MediaDescriptor } from './descriptor.js';
import { openSealed, type SealedFile } from './seal.js';

export interface MediaHttpOptions {
  /** http(s)://host:port of the sync server. */
  readonly baseUrl: string;
  /** Bearer token of the signed-in device. */
  readonly token: string;
  /** Injected for tests (e.g. to cut an upload off); default globalThis.fetch. */
  readonly fetch?: typeof fetch;
}

/** An HTTP error from the media API: a TidingsError with the server's stable code, plus the HTTP status. */
export class MediaHttpError extends TidingsError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(isErrorCode(code) ? code : ErrorCode.Internal, message);
  }
}

export interface UploadResult {
  readonly blobId: string;
  /** Ciphertext bytes sent in this call (0 when the server already had the blob). */
  readonly sentBytes: number;
  /** The server already had the blob (dedup). */
  readonly deduplicated: boolean;
  /** Chunks that were already stored from an earlier, interrupted attempt. */
  readonly resumedChunks: number;
}

interface UploadStateJson {
  upload_id: string | null;
  exists: boolean;
  chunk_bytes: number;
  chunk_count: number;
  received: number[];
}

export class MediaHttp {
  private readonly f: typeof fetch;
  constructor(private readonly o: MediaHttpOptions) {
    this.f = o.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private async call<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.o.token}` };
    if (body !== undefined && !(body instanceof Uint8Array)) headers['content-type'] = 'application/json';
    if (body instanceof Uint8Array) headers['content-type'] = 'application/octet-stream';
    const res = await this.f(this.o.baseUrl + path, {
      ...init,
      method,
      headers,
      body: body === undefined ? undefined : body instanceof Uint8Array ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body),
    });
    if (!res.ok) throw await toError(res);
    return (await res.json()) as T;
  }

  /** Upload a sealed file's ciphertext, resuming an interrupted upload of the same blob where it stopped. */
  async upload(sealed: SealedFile, opts: { signal?: AbortSignal; onProgress?: (sentBytes: number, totalBytes: number) => void } = {}): Promise<UploadResult> {
    const d = sealed.descriptor;
    const st = await this.call<UploadStateJson>('POST', '/v1/uploads', { sha256: d.blobId, size: d.blobSize });
    if (st.exists || st.upload_id === null) return { blobId: d.blobId, sentBytes: 0, deduplicated: true, resumedChunks: 0 };
    const have = new Set(st.received);
    let index = 0;
    let sent = 0;
    for await (const piece of fixedPieces(sealed.ciphertext(), st.chunk_bytes)) {
      if (!have.has(index)) {
        await this.call('PUT', `/v1/uploads/${st.upload_id}/chunks/${index}`, piece, opts.signal ? { signal: opts.signal } : {});
        sent += piece.length;
        opts.onProgress?.(sent, d.blobSize);
      }
      index++;
    }
    // An empty blob is one empty chunk.
    if (index === 0 && !have.has(0)) await this.call('PUT', `/v1/uploads/${st.upload_id}/chunks/0`, new Uint8Array(0));
    await this.call('POST', `/v1/uploads/${st.upload_id}/complete`, {});
    return { blobId: d.blobId, sentBytes: sent, deduplicated: false, resumedChunks: have.size };
  }

  /** Record that a conversation's message references the blob, so its members may download it. Call before sending the message. */
  async attach(blobId: string, conversationId: string): Promise<void> {
    await this.call('POST', `/v1/blobs/${blobId}/attach`, { conversation_id: conversationId });
  }

  async detach(blobId: string, conversationId: string): Promise<void> {
    await this.call('POST', `/v1/blobs/${blobId}/detach`, { conversation_id: conversationId });
  }

  /** The blob's ciphertext (or an inclusive byte range of it), streamed. */
  async fetchBlob(blobId: string, range?: { start: number; end?: number }): Promise<ReadableStream<Uint8Array>> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.o.token}` };
    if (range) headers.range = `bytes=${range.start}-${range.end ?? ''}`;
    const res = await this.f(`${this.o.baseUrl}/v1/blobs/${blobId}`, { headers });
    if (!res.ok) throw await toError(res);
    if (!res.body) throw new MediaHttpError(res.status, 'internal', 'download has no body');
    return res.body;
  }

  /** Download, verify and decrypt the file a descriptor names, streamed. */
  async download(d: MediaDescriptor): Promise<ReadableStream<Uint8Array>> {
    return openSealed(d, await this.fetchBlob(d.blobId));
  }
}

async function toError(res: Response): Promise<MediaHttpError> {
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text) as { error?: { code?: string; message?: string } };
    return new MediaHttpError(res.status, j.error?.code ?? 'internal', j.error?.message ?? res.statusText);
  } catch {
    return new MediaHttpError(res.status, 'internal', text || res.statusText);
  }
}
