/** Blob ids: the lowercase hex SHA-256 of a blob's ciphertext, and nothing else (never a path). */
import { ErrorCode, TidingsError } from '@tidings/shared';

declare const blobIdBrand: unique symbol;
/** 64 lowercase hex characters: the SHA-256 of the stored ciphertext. */
export type BlobId = string & { readonly [blobIdBrand]: true };

const BLOB_ID = /^[0-9a-f]{64}$/;

export const isBlobId = (v: unknown): v is BlobId => typeof v === 'string' && BLOB_ID.test(v);

/** The one parse function: anything but exactly 64 lowercase hex characters is rejected. */
export function parseBlobId(v: unknown, field = 'file_id'): BlobId {
  if (!isBlobId(v)) throw new TidingsError(ErrorCode.InvalidArgument, `${field}: must be 64 lowercase hex characters (the SHA-256 of the ciphertext)`);
  return v;
}
