/**
 * The device identity and the loaded MLS groups, over the KeyStore port:
 * the identity is made once and persisted; groups are loaded on first use and
 * written back after every change (a ratchet step must never be replayed).
 */
import type { ConversationId } from '@tidings/shared';
import type { Credentials } from '../api/http-api.js';
import { MlsGroup } from '../e2ee/group.js';
import { createDeviceIdentity, decodeDeviceIdentity, encodeDeviceIdentity, type DeviceIdentity } from '../e2ee/identity.js';
import type { SuiteName } from '../e2ee/suite.js';
import type { KeyStore } from '../keys/key-store.js';

export class GroupCache {
  private identityPromise: Promise<DeviceIdentity> | undefined;
  private readonly loaded = new Map<ConversationId, MlsGroup | null>();
  private readonly loading = new Map<ConversationId, Promise<void>>();

  constructor(
    private readonly store: KeyStore,
    private readonly credentials: Credentials,
    private readonly suite: SuiteName,
  ) {}

  /** This device's identity, created and stored on first use. */
  identity(): Promise<DeviceIdentity> {
    return (this.identityPromise ??= (async () => {
      const stored = await this.store.loadIdentity();
      if (stored !== null) {
        const identity = decodeDeviceIdentity(stored);
        if (identity.userId === this.credentials.userId && identity.deviceId === this.credentials.deviceId) return identity;
      }
      const identity = await createDeviceIdentity({ userId: this.credentials.userId, deviceId: this.credentials.deviceId }, this.suite);
      await this.store.saveIdentity(encodeDeviceIdentity(identity));
      return identity;
    })());
  }

  /**
   * The one loaded instance of a conversation's group. Concurrent first calls
   * (the engine queue and an app call such as groupState or a media key) share
   * one load: two instances restored from the same bytes would each ratchet on
   * their own, and the stale one could later replace the other in the cache,
   * so this device would encrypt at a generation it already used (the
   * recipient cannot open the second message) or re-open used keys.
   */
  async get(conversationId: ConversationId): Promise<MlsGroup | undefined> {
    if (!this.loaded.has(conversationId)) {
      let loading = this.loading.get(conversationId);
      if (loading === undefined) {
        loading = this.load(conversationId).finally(() => this.loading.delete(conversationId));
        this.loading.set(conversationId, loading);
      }
      await loading;
    }
    return this.loaded.get(conversationId) ?? undefined;
  }

  /** Reads the stored group; a save or discard that happened meanwhile is newer and wins. */
  private async load(conversationId: ConversationId): Promise<void> {
    const bytes = await this.store.loadGroup(conversationId);
    const group = bytes === null ? null : await MlsGroup.restore(bytes);
    if (!this.loaded.has(conversationId)) this.loaded.set(conversationId, group);
  }

  /** Stores a group's current state (after create, join, commit, encrypt or decrypt). */
  async save(group: MlsGroup): Promise<void> {
    this.loaded.set(group.conversationId, group);
    await this.store.saveGroup(group.conversationId, group.serialize());
  }

  /**
   * Drops the loaded instance: the next `get` reads the stored state. After
   * a ratchet step that was not stored (its entries' transaction failed), so
   * those entries open again when they come again.
   */
  forget(conversationId: ConversationId): void {
    this.loaded.delete(conversationId);
  }

  async discard(conversationId: ConversationId): Promise<void> {
    this.loaded.set(conversationId, null);
    await this.store.saveGroup(conversationId, null);
  }

  /** Groups loaded so far (for idleness checks). */
  cached(): MlsGroup[] {
    return [...this.loaded.values()].filter((g): g is MlsGroup => g !== null);
  }
}
