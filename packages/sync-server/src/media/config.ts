/** The media subsystem's options (a part of ServerConfig; env is read in ../config.ts only). */

/** The largest upload chunk the server accepts, whatever the config says (bounds one staged file). */
export const MAX_UPLOAD_CHUNK_BYTES = 16 * 1024 * 1024;
/** The smallest configurable chunk (tests use it to make many-chunk uploads of small files). */
export const MIN_UPLOAD_CHUNK_BYTES = 16 * 1024;

export interface S3MediaConfig {
  /** Bucket holding the blobs. Env S3_BUCKET. */
  readonly bucket: string;
  /** Key prefix of every blob. Env S3_PREFIX, default "media/". */
  readonly prefix: string;
  /** Endpoint of an S3-compatible server; unset means AWS. Env S3_ENDPOINT. */
  readonly endpoint: string | undefined;
  /** Env S3_REGION, default us-east-1. */
  readonly region: string;
  /** Path-style addressing (most S3-compatible servers need it). Env S3_FORCE_PATH_STYLE, default true when S3_ENDPOINT is set. */
  readonly forcePathStyle: boolean;
  /** Static credentials; unset means the AWS SDK's default provider chain. Env S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** Multipart part size in bytes (S3 minimum 5 MiB). Env S3_PART_BYTES, default 8 MiB. */
  readonly partBytes: number;
}

export interface MediaConfig {
  /** Blob store adapter: "fs" (under DATA_DIR/media) or "s3". Env MEDIA_STORE, default fs. */
  readonly store: 'fs' | 's3';
  /** Required when store is "s3". */
  readonly s3: S3MediaConfig | undefined;
  /** Largest blob, in bytes. Env MEDIA_MAX_BLOB_BYTES, default 4 GiB (2 GiB files plus encryption and headroom). */
  readonly maxBlobBytes: number;
  /** Largest single-request upload (POST /uploadFile), in bytes; larger files use resumable uploads. Env MEDIA_MAX_SINGLE_UPLOAD_BYTES, default 16 MiB. */
  readonly maxSingleUploadBytes: number;
  /** Size of every chunk of a resumable upload but the last, in bytes (≤ MAX_UPLOAD_CHUNK_BYTES). Env MEDIA_CHUNK_BYTES, default 4 MiB. */
  readonly chunkBytes: number;
  /** Bytes of blobs one user may have uploaded (plus uploads in progress). Env MEDIA_QUOTA_BYTES, default 20 GiB. */
  readonly quotaBytes: number;
  /** A blob no conversation references is deleted this long after it lost its last reference (or was uploaded), in ms. Env MEDIA_RETENTION_MS, default 7 days. */
  readonly retentionMs: number;
  /** An unfinished upload is discarded this long after it began, in ms. Env MEDIA_UPLOAD_TTL_MS, default 2 days. */
  readonly uploadTtlMs: number;
  /** How often the retention sweep runs, in ms; 0 disables the timer (tests call sweep()). Env MEDIA_SWEEP_INTERVAL_MS, default 1 hour. */
  readonly sweepIntervalMs: number;
}

const GiB = 1024 * 1024 * 1024;
export const MEDIA_DEFAULTS: MediaConfig = {
  store: 'fs',
  s3: undefined,
  maxBlobBytes: 4 * GiB,
  maxSingleUploadBytes: 16 * 1024 * 1024,
  chunkBytes: 4 * 1024 * 1024,
  quotaBytes: 20 * GiB,
  retentionMs: 7 * 24 * 3600_000,
  uploadTtlMs: 2 * 24 * 3600_000,
  sweepIntervalMs: 3600_000,
};
