/**
 * Everything this layer takes from ts-mls beyond its documented `@public`
 * API, kept in one file so a ts-mls upgrade is checked in one place.
 *
 * - `unprotectPrivateMessage` (via `openApplicationMessage`): ts-mls's
 *   processPrivateMessage returns an application message's plaintext but not
 *   who sent it. The function it calls returns the authenticated content,
 *   whose sender is the leaf the signature was verified against; calling it
 *   directly (with processPrivateMessage's own state update for application
 *   messages) avoids decrypting the sender data a second time just to learn
 *   the leaf (issue #11: that was ~6% of each decrypt).
 * - `makeKeyPackageRef`: to find which stored KeyPackage a Welcome is for.
 * - `ClientConfig`: ts-mls serializes GroupState but not the client config
 *   (it holds the authentication-service callback), so it is rebuilt here.
 */
import {
  defaultAuthenticationService,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  type CiphersuiteImpl,
  type ClientConfig,
  type ClientState,
  type Credential,
  type PrivateMessage,
} from 'ts-mls';
import { unprotectPrivateMessage } from 'ts-mls/messageProtection.js';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { tryParseIdentity } from './identity.js';

export { makeKeyPackageRef };

/**
 * The client config every group runs with. The authentication service
 * accepts only Basic credentials naming `userId:deviceId`; binding that
 * identity to its key is the job of the directory and the safety number.
 */
export const CLIENT_CONFIG: ClientConfig = {
  keyRetentionConfig: defaultKeyRetentionConfig,
  lifetimeConfig: defaultLifetimeConfig,
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: defaultPaddingConfig,
  authService: {
    validateCredential: async (credential: Credential, key: Uint8Array): Promise<boolean> =>
      tryParseIdentity(credential) !== undefined && (await defaultAuthenticationService.validateCredential(credential, key)),
  },
};

/** A decrypted, signature-checked application message and the group state after it. */
export interface OpenedApplication {
  readonly plaintext: Uint8Array;
  /** Leaf index of the sender (the leaf whose key verified the signature). */
  readonly senderLeaf: number;
  /** The ratchet tree of the message's epoch, to map the leaf to a member. */
  readonly tree: ClientState['ratchetTree'];
  readonly newState: ClientState;
  readonly consumed: Uint8Array[];
}

/**
 * ts-mls's processPrivateMessage for application messages only (current
 * epoch, or a retained past epoch), also returning the authenticated sender.
 * Throws on anything else; the caller maps errors to its own.
 */
export async function openApplicationMessage(state: ClientState, pm: PrivateMessage, cs: CiphersuiteImpl): Promise<OpenedApplication> {
  const past = pm.epoch < state.groupContext.epoch ? state.historicalReceiverData.get(pm.epoch) : undefined;
  if (pm.epoch < state.groupContext.epoch && past === undefined) throw new Error('Cannot process message, epoch too old');
  const from = past ?? { senderDataSecret: state.keySchedule.senderDataSecret, secretTree: state.secretTree, ratchetTree: state.ratchetTree, groupContext: state.groupContext };
  const result = await unprotectPrivateMessage(from.senderDataSecret, pm, from.secretTree, from.ratchetTree, from.groupContext, state.clientConfig.keyRetentionConfig, cs);
  const content = result.content.content;
  if (content.contentType !== 'application') throw new Error('not an application message');
  if (content.sender.senderType !== 'member') throw new Error('application message from a non-member');
  const newState: ClientState =
    past === undefined
      ? { ...state, secretTree: result.tree }
      : { ...state, historicalReceiverData: new Map(state.historicalReceiverData).set(pm.epoch, { ...past, secretTree: result.tree }) };
  return { plaintext: content.applicationData, senderLeaf: content.sender.leafIndex, tree: from.ratchetTree, newState, consumed: result.consumed };
}
