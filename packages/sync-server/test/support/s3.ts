/** A local S3-API server (s3rver) on 127.0.0.1, port 0, with its own folder; torn down after the file's tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { afterAll } from 'vitest';

export interface LocalS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly directory: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
}

export async function localS3(bucket = 'tidings-media'): Promise<LocalS3> {
  process.env.AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING ??= '1';
  const directory = await mkdtemp(path.join(tmpdir(), 'tidings-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = (await server.run()) as { port: number };
  afterAll(async () => {
    await server.close();
    await rm(directory, { recursive: true, force: true });
  });
  // s3rver accepts any signature made with its fixed test credentials.
  return { endpoint: `http://127.0.0.1:${port}`, bucket, directory, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } };
}
