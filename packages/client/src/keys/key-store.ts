/**
 * The key store port: the device's secret MLS material, kept in the local
 * replica and never handed to the page (in the browser the engine that owns
 * it runs in a worker). Everything goes in and out as opaque bytes.
 */
import type { ConversationId } from '@tidings/shared';

export interface KeyStore {
  /** This device's encoded identity (signature key pair), or null before it was made. */
  loadIdentity(): Promise<Uint8Array | null>;
  /** Stores the identity; written once per device. */
  saveIdentity(bytes: Uint8Array): Promise<void>;
  /** Stores the private halves of uploaded KeyPackages, by hex KeyPackageRef. */
  addKeyPackages(items: readonly { readonly ref: string; readonly secret: Uint8Array }[]): Promise<void>;
  /** The private half of a KeyPackage, or undefined. */
  keyPackage(ref: string): Promise<Uint8Array | undefined>;
  /** Forgets a KeyPackage once a Welcome used it. */
  deleteKeyPackage(ref: string): Promise<void>;
  /** A conversation's serialized MlsGroup, or null. */
  loadGroup(conversationId: ConversationId): Promise<Uint8Array | null>;
  /** Stores (or, with null, deletes) a conversation's serialized MlsGroup. */
  saveGroup(conversationId: ConversationId, bytes: Uint8Array | null): Promise<void>;
}
