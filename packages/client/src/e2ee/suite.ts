/**
 * Ciphersuites. The default is MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
 * (RFC 9420's mandatory-to-implement suite). ts-mls 1.6.x also offers the
 * post-quantum hybrid X-Wing suite; it works on Node 20 once the optional
 * peer `@hpke/hybridkem-x-wing@0.7.0` is installed (it is not, by default),
 * and then is selectable per deployment.
 */
import { ciphersuites, getCiphersuiteFromName, getCiphersuiteImpl, type CiphersuiteImpl } from 'ts-mls';
import { E2eeError } from './errors.js';
import { DEFAULT_PROVIDER, providerOf, type ProviderKind } from './provider.js';

/** RFC 9420 suite 1: X25519 + AES-128-GCM + SHA-256 + Ed25519. */
export const DEFAULT_SUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519' as const;
/** Hybrid post-quantum KEM (X25519 + ML-KEM-768); needs `@hpke/hybridkem-x-wing`. Signatures stay Ed25519. */
export const XWING_SUITE = 'MLS_256_XWING_AES256GCM_SHA512_Ed25519' as const;

export const SUPPORTED_SUITES = [DEFAULT_SUITE, XWING_SUITE] as const;
export type SuiteName = (typeof SUPPORTED_SUITES)[number];

const loaded = new Map<`${SuiteName}/${ProviderKind}`, Promise<CiphersuiteImpl>>();

/**
 * The suite's implementation on a CryptoProvider (see provider.ts), loaded
 * once per process. Every provider computes the same bytes, so groups and
 * identities move freely between them.
 */
export function loadSuite(name: SuiteName = DEFAULT_SUITE, provider: ProviderKind = DEFAULT_PROVIDER): Promise<CiphersuiteImpl> {
  const key = `${name}/${provider}` as const;
  let impl = loaded.get(key);
  if (impl === undefined) {
    impl = getCiphersuiteImpl(getCiphersuiteFromName(name), providerOf(provider)).catch((err: unknown) => {
      loaded.delete(key);
      const detail = err instanceof Error ? err.message : String(err);
      throw new E2eeError('unsupported_suite', `ciphersuite ${name} is unavailable: ${detail}`, undefined, err);
    });
    loaded.set(key, impl);
  }
  return impl;
}

/** The suite's 16-bit IANA id, as stored in our records. */
export const suiteId = (name: SuiteName): number => ciphersuites[name];

export function suiteFromId(id: number): SuiteName {
  const name = SUPPORTED_SUITES.find((s) => ciphersuites[s] === id);
  if (name === undefined) throw new E2eeError('unsupported_suite', `unsupported ciphersuite id ${id}`);
  return name;
}

export function parseSuiteName(name: string): SuiteName {
  const found = SUPPORTED_SUITES.find((s) => s === name);
  if (found === undefined) throw new E2eeError('unsupported_suite', `unsupported ciphersuite ${name}`);
  return found;
}
