/** The media subsystem: blob store adapters, uploads, references, retention. */
import path from 'node:path';
import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql.js';
import type { BlobStore } from './blob-store.js';
import { MAX_UPLOAD_CHUNK_BYTES, MIN_UPLOAD_CHUNK_BYTES, type MediaConfig } from './config.js';
import { FsBlobStore } from './fs-store.js';
import { S3BlobStore } from './s3-store.js';
import { Media } from './service.js';
import { S3Staging } from './s3-staging.js';
import { Staging, type UploadStaging } from './staging.js';

export { mediaRoutes } from './routes.js';
export { Media } from './service.js';
export { MEDIA_DEFAULTS, type MediaConfig } from './config.js';
export type { BlobStore } from './blob-store.js';

export interface OpenedMedia {
  readonly media: Media;
  readonly blobs: BlobStore;
  close(): Promise<void>;
}

/** Open the configured blob store, the upload staging (beside the blobs: a folder under `dataDir/media`, or S3), and start the retention sweep. */
export async function openMedia(cfg: MediaConfig, dataDir: string, deps: { db: SqlClient; clock: () => number; logger: Logger }): Promise<OpenedMedia> {
  if (cfg.chunkBytes < MIN_UPLOAD_CHUNK_BYTES || cfg.chunkBytes > MAX_UPLOAD_CHUNK_BYTES) {
    throw new Error(`media chunk size must be ${MIN_UPLOAD_CHUNK_BYTES}..${MAX_UPLOAD_CHUNK_BYTES} bytes`);
  }
  const root = path.resolve(dataDir, 'media');
  let blobs: BlobStore;
  const scratch = new Staging(path.join(root, 'staging'));
  let staging: UploadStaging = scratch;
  if (cfg.store === 's3') {
    if (!cfg.s3) throw new Error('MEDIA_STORE=s3 needs S3_BUCKET');
    const s3 = cfg.s3;
    const s3Client = { region: s3.region, forcePathStyle: s3.forcePathStyle, ...(s3.endpoint ? { endpoint: s3.endpoint } : {}), ...(s3.credentials ? { credentials: s3.credentials } : {}) };
    blobs = new S3BlobStore({
      bucket: s3.bucket,
      prefix: s3.prefix,
      partBytes: s3.partBytes,
      queueSize: 4,
      client: s3Client,
    });
    // Chunks beside the blobs: an upload begun on one node resumes on any other.
    staging = new S3Staging({ bucket: s3.bucket, prefix: `${s3.prefix}staging/`, partBytes: s3.partBytes, client: s3Client });
  } else {
    blobs = await FsBlobStore.open(root);
  }
  await scratch.ensure();
  const media = new Media({ db: deps.db, blobs, staging, scratch, config: cfg, clock: deps.clock, logger: deps.logger });
  const timer =
    cfg.sweepIntervalMs > 0
      ? setInterval(() => void media.sweep().catch((err: unknown) => deps.logger.warn({ err }, 'media sweep failed')), cfg.sweepIntervalMs)
      : undefined;
  timer?.unref();
  return {
    media,
    blobs,
    close: async () => {
      if (timer) clearInterval(timer);
      if (blobs instanceof S3BlobStore) blobs.close();
      if (staging instanceof S3Staging) staging.close();
    },
  };
}
