/**
 * End-to-end encryption with MLS (RFC 9420) through ts-mls: device
 * identities, KeyPackages, one MLS group per conversation, and safety
 * numbers. Storage-agnostic: everything persistent goes in and out as bytes.
 */
export { E2eeError, E2eeErrorReason, isE2eeError, type EpochMismatch } from './errors.js';
export { DEFAULT_SUITE, XWING_SUITE, SUPPORTED_SUITES, loadSuite, parseSuiteName, type SuiteName } from './suite.js';
export {
  createDeviceIdentity,
  encodeDeviceIdentity,
  decodeDeviceIdentity,
  credentialFor,
  parseIdentity,
  sameDevice,
  type DeviceIdentity,
  type DeviceRef,
} from './identity.js';
export {
  generateKeyPackages,
  parseKeyPackage,
  MAX_KEY_PACKAGES_PER_BATCH,
  type KeyPackageBundle,
} from './key-packages.js';
export { DEFAULT_PROVIDER, type ProviderKind } from './provider.js';
export {
  MlsGroup,
  type GroupOptions,
  type CommitOutcome,
  type DecryptedMessage,
  type KeyPackageLookup,
  type PendingCommit,
} from './group.js';
export type { Member } from './members.js';
export { peekMessage, groupIdOf, conversationIdOf, MAX_MLS_MESSAGE_BYTES, type MlsMessageHeader, type MlsMessageKind } from './wire.js';
export { safetyNumber, SAFETY_NUMBER_ITERATIONS, type UserKeys } from './safety-number.js';
