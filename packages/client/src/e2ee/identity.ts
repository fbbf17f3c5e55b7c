/**
 * A device's MLS identity: its signature key pair (the identity key behind
 * the safety number) and a Basic credential whose identity is
 * `userId:deviceId` in decimal, so a leaf maps back to a device.
 */
import { parseDeviceId, parseUserId, type DeviceId, type UserId } from '@tidings/shared';
import type { Credential, CredentialBasic } from 'ts-mls';
import { RecordReader, RecordWriter } from './bytes.js';
import { E2eeError } from './errors.js';
import { DEFAULT_SUITE, loadSuite, suiteFromId, suiteId, type SuiteName } from './suite.js';

/** One device of one user. */
export interface DeviceRef {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
}

export interface DeviceIdentity extends DeviceRef {
  readonly suite: SuiteName;
  /** The identity key: the leaf's signature public key in every group. */
  readonly signaturePublicKey: Uint8Array;
  /** Secret. In the browser it stays inside the worker that runs the engine. */
  readonly signaturePrivateKey: Uint8Array;
  readonly credential: CredentialBasic;
}

const IDENTITY_VERSION = 1;
const IDENTITY_PATTERN = /^([1-9][0-9]{0,18}):([1-9][0-9]{0,18})$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function credentialFor(device: DeviceRef): CredentialBasic {
  return { credentialType: 'basic', identity: encoder.encode(`${device.userId}:${device.deviceId}`) };
}

/** The device a credential names, or undefined if it is not one of ours. */
export function tryParseIdentity(credential: Credential): DeviceRef | undefined {
  if (credential.credentialType !== 'basic') return undefined;
  let text: string;
  try {
    text = decoder.decode(credential.identity);
  } catch {
    return undefined;
  }
  const m = IDENTITY_PATTERN.exec(text);
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
  try {
    return { userId: parseUserId(m[1]), deviceId: parseDeviceId(m[2]) };
  } catch {
    return undefined;
  }
}

export function parseIdentity(credential: Credential): DeviceRef {
  const device = tryParseIdentity(credential);
  if (device === undefined) throw new E2eeError('invalid_message', 'credential does not name a userId:deviceId');
  return device;
}

export const sameDevice = (a: DeviceRef, b: DeviceRef): boolean => a.userId === b.userId && a.deviceId === b.deviceId;

/** Creates a fresh identity for a device. */
export async function createDeviceIdentity(device: DeviceRef, suite: SuiteName = DEFAULT_SUITE): Promise<DeviceIdentity> {
  const impl = await loadSuite(suite);
  const { publicKey, signKey } = await impl.signature.keygen();
  return {
    userId: device.userId,
    deviceId: device.deviceId,
    suite,
    signaturePublicKey: publicKey,
    signaturePrivateKey: signKey,
    credential: credentialFor(device),
  };
}

/** Bytes for the local replica (they contain the private key). */
export function encodeDeviceIdentity(identity: DeviceIdentity): Uint8Array {
  return new RecordWriter()
    .u8(IDENTITY_VERSION)
    .u16(suiteId(identity.suite))
    .u64(identity.userId)
    .u64(identity.deviceId)
    .bytes(identity.signaturePublicKey)
    .bytes(identity.signaturePrivateKey)
    .finish();
}

export function decodeDeviceIdentity(bytes: Uint8Array): DeviceIdentity {
  const r = new RecordReader(bytes, 'device identity');
  const version = r.u8('version');
  if (version !== IDENTITY_VERSION) throw new E2eeError('invalid_message', `device identity version ${version}`);
  const suite = suiteFromId(r.u16('suite'));
  const device = { userId: parseUserId(r.u64('user id')), deviceId: parseDeviceId(r.u64('device id')) };
  const signaturePublicKey = r.bytes('public key', 4096);
  const signaturePrivateKey = r.bytes('private key', 8192);
  r.end();
  return { ...device, suite, signaturePublicKey, signaturePrivateKey, credential: credentialFor(device) };
}
