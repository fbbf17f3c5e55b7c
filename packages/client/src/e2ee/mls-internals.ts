/**
 * Everything this layer takes from ts-mls beyond its documented `@public`
 * API, kept in one file so a ts-mls upgrade is checked in one place.
 *
 * - `decryptSenderData`: ts-mls's processPrivateMessage returns an
 *   application message's plaintext but not who sent it. The sender's leaf
 *   index lives in the (separately encrypted) sender data; decrypting it is
 *   stateless, and processPrivateMessage has already verified the content's
 *   signature against that same leaf, so the leaf is authenticated.
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
  type ClientConfig,
  type Credential,
} from 'ts-mls';
import { decryptSenderData } from 'ts-mls/privateMessage.js';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { tryParseIdentity } from './identity.js';

export { decryptSenderData, makeKeyPackageRef };

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
