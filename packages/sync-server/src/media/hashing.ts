/** A pass-through stream that fails at its end unless the SHA-256 of what went through equals the expected blob id. */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { ErrorCode, TidingsError } from '@tidings/shared';
import type { BlobId } from './blob-id.js';

export function verifySha256(expected: BlobId): Transform {
  const hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      const got = hash.digest('hex');
      done(got === expected ? null : new TidingsError(ErrorCode.InvalidArgument, `content hash mismatch: the bytes hash to ${got}, not ${expected}`));
    },
  });
}
