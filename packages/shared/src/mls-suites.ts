/**
 * The MLS ciphersuites a deployment may choose (server env MLS_CIPHERSUITE,
 * advertised at GET /v1/config). One suite per deployment: every device's
 * KeyPackages and every group use it, so the server refuses KeyPackages of
 * another suite and clients refuse a server whose suite differs from theirs.
 */
import { decodeMlsOnce } from './mls-header.js';
import { ErrorCode, TidingsError } from './errors.js';

/** RFC 9420 suite 1 (X25519, AES-128-GCM, SHA-256, Ed25519): the default. */
export const MLS_DEFAULT_SUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519' as const;
/** Hybrid post-quantum KEM X-Wing (X25519 + ML-KEM-768), AES-256-GCM, SHA-512; signatures stay Ed25519. */
export const MLS_XWING_SUITE = 'MLS_256_XWING_AES256GCM_SHA512_Ed25519' as const;

export const MLS_SUITES = [MLS_DEFAULT_SUITE, MLS_XWING_SUITE] as const;
export type MlsSuiteName = (typeof MLS_SUITES)[number];

export function isMlsSuite(name: string): name is MlsSuiteName {
  return (MLS_SUITES as readonly string[]).includes(name);
}

/** The suite a KeyPackage (MLSMessage bytes) is for; InvalidArgument when it is not a KeyPackage. */
export function keyPackageSuite(bytes: Uint8Array, maxBytes: number): string {
  const m = decodeMlsOnce(bytes, maxBytes);
  if (m.wireformat !== 'mls_key_package') throw new TidingsError(ErrorCode.InvalidArgument, 'not an MLS KeyPackage');
  return m.keyPackage.cipherSuite;
}
