/** Device bearer tokens: 256 random bits, stored only as their SHA-256. */
import { createHash, randomBytes } from 'node:crypto';

const TOKEN_BYTES = 32;

export const newToken = (): string => randomBytes(TOKEN_BYTES).toString('base64url');

/** Tokens are high-entropy, so a fast hash suffices (unlike passwords). */
export const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();

/** Parse `Authorization: Bearer <token>`; undefined if absent or malformed. */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(header);
  return m?.[1];
}
