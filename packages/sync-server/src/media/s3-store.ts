/**
 * S3 blob store over `@aws-sdk/client-s3`: one object per blob, key
 * `<prefix><sha256 hex>`. Puts stream through `@aws-sdk/lib-storage`'s
 * multipart Upload (parts of `partBytes`, a single PutObject when smaller);
 * the hash is checked as the last part is read, so a mismatch aborts the
 * multipart upload before it is completed and nothing becomes visible.
 */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { ErrorCode, TidingsError } from '@tidings/shared';
import { parseBlobId, type BlobId } from './blob-id.js';
import type { BlobStore, ByteRange } from './blob-store.js';
import { verifySha256 } from './hashing.js';

export interface S3StoreOptions {
  readonly bucket: string;
  /** Key prefix, e.g. "media/". */
  readonly prefix: string;
  /** Multipart part size in bytes (S3's minimum is 5 MiB). */
  readonly partBytes: number;
  /** Parts uploaded at once. */
  readonly queueSize: number;
  readonly client: S3ClientConfig;
}

const isMissing = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
};

export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  private readonly s3: S3Client;

  constructor(private readonly o: S3StoreOptions) {
    // Checksums only where S3 requires them: S3-compatible servers often lack the newer aws-chunked trailers.
    this.s3 = new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', ...o.client });
  }

  private key(id: BlobId): string {
    return this.o.prefix + parseBlobId(id);
  }

  async size(id: BlobId): Promise<number | undefined> {
    try {
      const h = await this.s3.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: this.key(id) }));
      return h.ContentLength;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async put(id: BlobId, data: Readable | AsyncIterable<Uint8Array>): Promise<void> {
    const source = data instanceof Readable ? data : Readable.from(data);
    const body = source.pipe(verifySha256(id));
    // pipe() does not forward source errors: do it, so a failed source fails the upload.
    source.once('error', (err) => body.destroy(err));
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.o.bucket, Key: this.key(id), Body: body, ContentType: 'application/octet-stream' },
      partSize: this.o.partBytes,
      queueSize: this.o.queueSize,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async get(id: BlobId, range?: ByteRange): Promise<Readable> {
    try {
      const r = await this.s3.send(
        new GetObjectCommand({ Bucket: this.o.bucket, Key: this.key(id), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      if (!(r.Body instanceof Readable)) throw new TidingsError(ErrorCode.Internal, 'S3 returned no body stream');
      return r.Body;
    } catch (err) {
      if (isMissing(err)) throw new TidingsError(ErrorCode.NotFound, 'no such file');
      throw err;
    }
  }

  async delete(id: BlobId): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: this.key(id) }));
  }

  close(): void {
    this.s3.destroy();
  }
}
