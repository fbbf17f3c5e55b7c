/**
 * Safety numbers: 60 digits two users compare (in person or over another
 * channel) to know no one sits between them. Modelled on Signal's
 * NumericFingerprintGenerator: each user's half is 30 digits derived from an
 * iterated SHA-512 over that user's identity keys and id; the halves are put
 * in canonical order (by user id) so both sides see the same number. A user
 * here has one identity key per device, so a user's key set is every
 * device's key, sorted; any added, removed or changed key changes the number.
 */
import type { UserId } from '@tidings/shared';
import { RecordWriter } from './bytes.js';

/** Iterations of SHA-512 per half (Signal's value). */
export const SAFETY_NUMBER_ITERATIONS = 5200;
const FORMAT_VERSION = 0;

export interface UserKeys {
  readonly userId: UserId;
  /** The identity (signature) public keys of the user's devices, in any order. */
  readonly identityKeys: readonly Uint8Array[];
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

async function sha512(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-512', data as Uint8Array<ArrayBuffer>));
}

/** 30 digits for one user. */
async function half(user: UserKeys, iterations: number): Promise<string> {
  const keys = new RecordWriter();
  for (const key of [...user.identityKeys].sort(compareBytes)) keys.bytes(key);
  const keyBytes = keys.finish();
  const id = new TextEncoder().encode(user.userId.toString());
  let hash = new RecordWriter().u16(FORMAT_VERSION).bytes(keyBytes).bytes(id).finish();
  for (let i = 0; i < iterations; i++) {
    const input = new Uint8Array(hash.length + keyBytes.length);
    input.set(hash, 0);
    input.set(keyBytes, hash.length);
    hash = await sha512(input);
  }
  let digits = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let v = 0;
    for (let b = 0; b < 5; b++) v = v * 256 + (hash[chunk * 5 + b] ?? 0);
    digits += (v % 100000).toString().padStart(5, '0');
  }
  return digits;
}

/** The safety number of two users, as 12 groups of 5 digits separated by spaces. */
export async function safetyNumber(a: UserKeys, b: UserKeys, iterations = SAFETY_NUMBER_ITERATIONS): Promise<string> {
  const [first, second] = a.userId <= b.userId ? [a, b] : [b, a];
  const digits = (await half(first, iterations)) + (await half(second, iterations));
  return digits.match(/.{5}/g)?.join(' ') ?? digits;
}

/** Hex digits of a device fingerprint (in groups of 4). */
const FINGERPRINT_HEX_DIGITS = 32;

/**
 * One device's identity-key fingerprint, for a devices view: the first 128
 * bits of SHA-256 over its signature public key, as hex in groups of 4. Two
 * devices of the user showing the same fingerprint for a device agree on its key.
 */
export async function deviceFingerprint(signaturePublicKey: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', signaturePublicKey as Uint8Array<ArrayBuffer>));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, FINGERPRINT_HEX_DIGITS);
  return hex.match(/.{4}/g)!.join(' ');
}
