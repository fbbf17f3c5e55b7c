/**
 * KeyPackages: the one-time "add me" tickets a device uploads to the server.
 * The public half goes up as an MLSMessage; the private half (init and HPKE
 * keys) stays in the local replica, keyed by the KeyPackageRef a Welcome
 * names, until that Welcome is processed.
 */
import {
  defaultCapabilities,
  defaultLifetime,
  generateKeyPackageWithKey,
  type CiphersuiteImpl,
  type KeyPackage,
  type PrivateKeyPackage,
} from 'ts-mls';
import { RecordReader, RecordWriter, toHex } from './bytes.js';
import { E2eeError } from './errors.js';
import { parseIdentity, type DeviceIdentity, type DeviceRef } from './identity.js';
import { makeKeyPackageRef } from './mls-internals.js';
import { loadSuite } from './suite.js';
import { decodeMessage, encodeMessage } from './wire.js';

/** Most KeyPackages generated in one call. */
export const MAX_KEY_PACKAGES_PER_BATCH = 1000;
const SECRET_VERSION = 1;

export interface KeyPackageBundle {
  /** Hex KeyPackageRef: the key under which the private half is stored and a Welcome finds it. */
  readonly ref: string;
  /** MLSMessage(KeyPackage): upload this. */
  readonly publicBytes: Uint8Array;
  /** Secret: keep in the local replica until a Welcome consumes it. */
  readonly privateBytes: Uint8Array;
}

/** A KeyPackage with its private keys, ready for createGroup or joinGroup. */
export interface OpenedKeyPackage {
  readonly publicPackage: KeyPackage;
  readonly privatePackage: PrivateKeyPackage;
}

export async function keyPackageRef(keyPackage: KeyPackage, impl: CiphersuiteImpl): Promise<string> {
  return toHex(await makeKeyPackageRef(keyPackage, impl.hash));
}

/** One KeyPackage signed with the device's identity key. */
export async function newKeyPackage(identity: DeviceIdentity, impl: CiphersuiteImpl): Promise<OpenedKeyPackage> {
  return generateKeyPackageWithKey(
    identity.credential,
    defaultCapabilities(),
    defaultLifetime,
    [],
    { signKey: identity.signaturePrivateKey, publicKey: identity.signaturePublicKey },
    impl,
  );
}

/** Generates `count` KeyPackages for upload. */
export async function generateKeyPackages(identity: DeviceIdentity, count: number): Promise<KeyPackageBundle[]> {
  if (!Number.isSafeInteger(count) || count < 0 || count > MAX_KEY_PACKAGES_PER_BATCH) {
    throw new E2eeError('invalid_message', `key package count must be 0..${MAX_KEY_PACKAGES_PER_BATCH}`);
  }
  const impl = await loadSuite(identity.suite);
  const out: KeyPackageBundle[] = [];
  for (let i = 0; i < count; i++) {
    const kp = await newKeyPackage(identity, impl);
    const publicBytes = encodeMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: kp.publicPackage });
    const { initPrivateKey, hpkePrivateKey, signaturePrivateKey } = kp.privatePackage;
    const privateBytes = new RecordWriter()
      .u8(SECRET_VERSION)
      .bytes(publicBytes)
      .bytes(initPrivateKey)
      .bytes(hpkePrivateKey)
      .bytes(signaturePrivateKey)
      .finish();
    out.push({ ref: await keyPackageRef(kp.publicPackage, impl), publicBytes, privateBytes });
  }
  return out;
}

/** Parses an uploaded KeyPackage (untrusted) and names the device it is for. */
export function parseKeyPackage(publicBytes: Uint8Array): { keyPackage: KeyPackage; device: DeviceRef } {
  const m = decodeMessage(publicBytes);
  if (m.wireformat !== 'mls_key_package') throw new E2eeError('invalid_message', `expected a KeyPackage, got ${m.wireformat}`);
  return { keyPackage: m.keyPackage, device: parseIdentity(m.keyPackage.leafNode.credential) };
}

/** Restores a stored KeyPackage with its private keys. */
export function openKeyPackage(privateBytes: Uint8Array): OpenedKeyPackage {
  const r = new RecordReader(privateBytes, 'key package secret');
  const version = r.u8('version');
  if (version !== SECRET_VERSION) throw new E2eeError('invalid_message', `key package secret version ${version}`);
  const { keyPackage } = parseKeyPackage(r.bytes('key package'));
  const privatePackage: PrivateKeyPackage = {
    initPrivateKey: r.bytes('init key', 8192),
    hpkePrivateKey: r.bytes('hpke key', 8192),
    signaturePrivateKey: r.bytes('signature key', 8192),
  };
  r.end();
  return { publicPackage: keyPackage, privatePackage };
}
