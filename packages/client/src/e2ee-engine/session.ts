/**
 * The E2EE side of one engine: KeyPackage stock, reading the log through
 * MLS, sealing outbox items at flush time, membership Commits, the device
 * inbox (Welcomes, history for a new device) and verification.
 */
import {
  EntryType,
  ErrorCode,
  InboxKind,
  TidingsError,
  type ConversationId,
  type Entry,
  type InboxItem,
  type UserId,
} from '@tidings/shared';
import { bytesEqual } from '../e2ee/bytes.js';
import { E2eeError } from '../e2ee/errors.js';
import { MlsGroup, type PendingCommit } from '../e2ee/group.js';
import { generateKeyPackages } from '../e2ee/key-packages.js';
import { safetyNumber } from '../e2ee/safety-number.js';
import type { GroupWrite, OutboxItem } from '../replica/replica.js';
import { ownFingerprints, withFingerprints, type DeviceView } from './devices.js';
import { GroupCache } from './groups.js';
import type { E2eeHost } from './host.js';
import { HistorySync } from './history.js';
import { LogReader, type OpenedPage } from './log-reader.js';
import { Membership } from './membership.js';
import { welcomeBatches } from './welcomes.js';
import type { MlsEnvelope } from './mls-envelope.js';
import { LINK_REQUEST } from './payload.js';
import { PeerWatch } from './peer-watch.js';

/** What the outbox should do with an item now. */
export type Prepared =
  | { readonly kind: 'send'; readonly body: Uint8Array }
  /** Not yet (no group, a Commit in flight, or waiting for the Commit that made it stale): keep it and the conversation's later items. */
  | { readonly kind: 'wait' }
  | { readonly kind: 'fail'; readonly code: ErrorCode; readonly message: string };

export class E2eeSession {
  readonly groups: GroupCache;
  private readonly reader: LogReader;
  private readonly membership: Membership;
  /** Conversations with an outbox item that waited because this device did not know them yet. */
  private readonly unknownAtPrepare = new Set<ConversationId>();
  private readonly peers: PeerWatch;
  private readonly history: HistorySync;
  /** Epoch each in-flight message was sealed in; after stale_epoch it waits until the group is past it. */
  private readonly sealedAt = new Map<string, bigint>();
  private readonly staleAt = new Map<string, bigint>();
  private stocking: Promise<void> | null = null;
  private suiteCheck: Promise<boolean> | null = null;
  /** Set when the server's ciphersuite is not this device's: nothing is keyed, sealed or committed. */
  private refusal: E2eeError | null = null;

  constructor(
    private readonly host: E2eeHost,
    private readonly envelope: MlsEnvelope,
  ) {
    this.groups = new GroupCache(host.replica, host.credentials, envelope.suite);
    this.membership = new Membership(host, this.groups, () => this.suiteAgreed());
    this.peers = new PeerWatch(host, this.groups);
    this.history = new HistorySync(host, this.groups);
    this.reader = new LogReader(host, this.groups, {
      confirmed: (group, commit) => this.confirmed(group, commit),
      applied: async (group, superseded) => {
        if (superseded) await this.dropCommits(group.conversationId);
        await this.peers.check(group);
        this.afterEpoch(group.conversationId);
      },
      lostCreation: async (conversationId) => {
        await this.dropCommits(conversationId);
        this.membership.settle(conversationId);
      },
    });
  }

  /** True while no membership change is being prepared and no Commit of ours is unconfirmed. */
  idle(): boolean {
    return !this.membership.busy && this.groups.cached().every((g) => g.pending === undefined);
  }

  // ---- connection lifecycle ----

  /** The server welcomed this device: make sure the identity exists and the KeyPackage stock is up. */
  welcomed(): void {
    void this.ensureStock();
  }

  /**
   * Catch-up is done: open entries still held although their group exists (a
   * replay after its Welcome did not finish), create the self group if nobody
   * has, and repair every group.
   */
  async synced(): Promise<void> {
    for (const id of await this.host.replica.heldConversations()) {
      if ((await this.groups.get(id)) === undefined) continue; // still waiting for its Welcome
      try {
        await this.reader.replay(id);
      } catch (error) {
        this.host.logger.warn('held entries not replayed', { conversationId: String(id), error: String(error) });
      }
    }
    const conversations = await this.host.replica.conversations();
    const self = conversations.find((c) => c.kind === 'self');
    if (self) void this.membership.reconcile(self.id, true);
    for (const c of conversations) if (c.kind !== 'self' && !c.left) void this.membership.reconcile(c.id);
  }

  /**
   * True when the server's MLS ciphersuite (GET /v1/config) is this device's. A
   * mismatch is final: the app gets an `unsupported_suite` error and this device
   * makes no keys, groups or messages. An unreachable server is asked again later.
   */
  suiteAgreed(): Promise<boolean> {
    return (this.suiteCheck ??= (async () => {
      let served: string;
      try {
        served = (await this.host.api.serverConfig()).mlsSuite;
      } catch (error) {
        this.suiteCheck = null;
        this.host.logger.warn('server config unavailable', { error: String(error) });
        return false;
      }
      if (served === this.envelope.suite) return true;
      this.refusal = new E2eeError('unsupported_suite', `this server uses MLS ciphersuite ${served}; this device is set up for ${this.envelope.suite}`);
      this.host.failed(this.refusal);
      return false;
    })());
  }

  /** Uploads KeyPackages when the server's stock is at or below its low water (and on `key_packages_low`). */
  ensureStock(): Promise<void> {
    return (this.stocking ??= this.stock().finally(() => (this.stocking = null)));
  }

  private async stock(): Promise<void> {
    const { api, logger, replica, credentials } = this.host;
    if (!(await this.suiteAgreed())) return;
    try {
      const identity = await this.groups.identity();
      const { stock, lowWater } = await api.keyPackageStock();
      if (stock > lowWater) {
        this.host.keyPackageStock(stock);
        return;
      }
      const bundles = await generateKeyPackages(identity, Math.max(0, this.envelope.keyPackageTarget - stock));
      if (bundles.length === 0) return;
      await replica.addKeyPackages(bundles.map((b) => ({ ref: b.ref, secret: b.privateBytes })));
      this.host.keyPackageStock(await api.uploadKeyPackages(bundles.map((b) => b.publicBytes)));
      if (stock === 0) {
        // A device with no stock is new (or was drained): ask the user's other devices to add it.
        const others = (await api.devices(credentials.userId)).filter((d) => d !== credentials.deviceId);
        if (others.length > 0) await api.postInbox(others.map((deviceId) => ({ deviceId, kind: 'history' as const, body: LINK_REQUEST })));
      }
    } catch (error) {
      logger.warn('KeyPackage upload failed', { error: String(error) });
    }
  }

  // ---- the log ----

  /** Opens committed entries in log order (on the engine queue); store the page's `groups` with it (see LogReader.open), or call `unstored` when that fails. */
  async open(conversationId: ConversationId, entries: readonly Entry[]): Promise<OpenedPage> {
    return this.reader.open(conversationId, entries);
  }

  /** The page `open` returned could not be stored: its groups go back to their stored states. */
  unstored(groups: readonly GroupWrite[]): void {
    this.reader.unstored(groups.map((g) => g.conversationId));
  }

  /** The conversation's members may have changed. */
  conversationChanged(conversationId: ConversationId): void {
    void this.membership.reconcile(conversationId);
    // A message queued before this device knew the conversation (a DM opened and sent to at once)
    // waited for it: seal it now, which for a DM also creates the group.
    if (this.unknownAtPrepare.delete(conversationId)) this.host.requestFlush();
  }

  /** This device created the conversation or changed its members: carry it into the group. */
  changed(conversationId: ConversationId): Promise<void> {
    return this.membership.reconcile(conversationId, true);
  }

  /** One of this user's devices was revoked: Commit its leaves' removal from every group, as the initiator. */
  async deviceRemoved(): Promise<void> {
    const all = await this.host.replica.conversations();
    await Promise.all(all.filter((c) => !c.left).map((c) => this.membership.reconcile(c.id, true)));
  }

  /** The user's devices with their identity-key fingerprints from the self group. */
  async ownDevices(): Promise<DeviceView[]> {
    return withFingerprints(await this.host.api.ownDevices(), await ownFingerprints(this.host, this.groups));
  }

  /** The engine is stopping: no more timed retries. */
  stop(): void {
    this.membership.stop();
  }

  /** Runs the repair pass for every conversation now. */
  async repair(): Promise<void> {
    const all = await this.host.replica.conversations();
    await Promise.all(all.filter((c) => !c.left).map((c) => this.membership.reconcile(c.id)));
  }

  // ---- sending ----

  /** Seals an outbox item now, at the epoch the server is at (on the engine queue). */
  async prepare(item: OutboxItem): Promise<Prepared> {
    if (this.refusal !== null) return { kind: 'fail', code: this.refusal.code, message: this.refusal.message };
    if (item.type === EntryType.Mls) return { kind: 'send', body: item.body };
    const group = await this.groups.get(item.conversationId);
    if (group === undefined) {
      const conversation = await this.host.replica.conversation(item.conversationId);
      if (conversation === null || conversation.kind === 'unknown') this.unknownAtPrepare.add(item.conversationId);
      if (conversation?.kind === 'dm' && !(await this.host.replica.hasHeldCommit(item.conversationId))) {
        void this.membership.reconcile(item.conversationId, true); // DMs get their group on first send
      }
      return { kind: 'wait' };
    }
    if (!group.active) return { kind: 'fail', code: ErrorCode.NotAMember, message: 'this device was removed from the conversation' };
    if (group.pending !== undefined) return { kind: 'wait' };
    const stale = this.staleAt.get(item.clientMsgId);
    if (stale !== undefined && group.epoch <= stale) return { kind: 'wait' };
    const body = await group.encrypt(item.body);
    await this.groups.save(group);
    this.sealedAt.set(item.clientMsgId, group.epoch);
    return { kind: 'send', body };
  }

  /** The server refused a send; true when handled here (the item stays or was dropped). */
  async sendFailed(item: OutboxItem, code: ErrorCode): Promise<boolean> {
    if (code !== ErrorCode.StaleEpoch) return false;
    if (item.type !== EntryType.Mls) {
      // Another Commit got in first: re-seal with the SAME clientMsgId once it is applied.
      const sealed = this.sealedAt.get(item.clientMsgId) ?? (await this.groups.get(item.conversationId))?.epoch ?? 0n;
      this.staleAt.set(item.clientMsgId, sealed);
      return true;
    }
    await this.host.replica.dropOutboxItem(item.clientMsgId);
    const group = await this.groups.get(item.conversationId);
    if (group?.pending !== undefined && bytesEqual(group.pending.commit, item.body)) {
      if (group.epoch === 0n) {
        await this.groups.discard(item.conversationId); // lost the creation race: the winner's Welcome will come
        this.membership.settle(item.conversationId);
      } else {
        await group.abandon(); // the winning Commit arrives on the log; we reconcile after it
        await this.groups.save(group);
      }
    }
    return true;
  }

  /** The server acked a send. */
  sent(clientMsgId: string): void {
    this.sealedAt.delete(clientMsgId);
    this.staleAt.delete(clientMsgId);
  }

  // ---- inbox ----

  /** Handles inbox items in order and acks what was handled (on the engine queue). */
  async inbox(items: readonly InboxItem[]): Promise<void> {
    let upto: bigint | null = null;
    for (const item of items) {
      if (!(await this.inboxItem(item))) break;
      upto = item.id;
    }
    if (upto !== null) this.host.ackInbox(upto);
  }

  private async inboxItem(item: InboxItem): Promise<boolean> {
    const { logger, replica, credentials } = this.host;
    if (item.kind === InboxKind.Welcome) {
      try {
        const { group, keyPackageRef } = await MlsGroup.join(item.body, (ref) => replica.keyPackage(ref));
        const existing = await this.groups.get(group.conversationId);
        if (existing?.active && existing.pending === undefined && existing.epoch >= group.epoch) return true;
        await this.groups.save(group);
        await replica.deleteKeyPackage(keyPackageRef);
        this.host.groupChanged(group.conversationId, group.epoch);
        await this.reader.replay(group.conversationId);
        await this.peers.check(group);
        this.afterEpoch(group.conversationId);
      } catch (error) {
        logger.warn('Welcome not usable', { error: String(error) });
      }
      return true;
    }
    if (bytesEqual(item.body, LINK_REQUEST)) {
      if (item.senderUserId === credentials.userId) void this.repair();
      return true;
    }
    return this.history.receive(item);
  }

  // ---- verification ----

  /** The safety number with a user, from the identity keys in our DM's group (60 digits in groups of 5). */
  async safetyNumber(userId: UserId): Promise<string> {
    const me = this.host.credentials.userId;
    const dm = (await this.host.replica.conversations()).find((c) => c.kind === 'dm' && c.members.includes(userId));
    const group = dm && (await this.groups.get(dm.id));
    if (!group) throw new TidingsError(ErrorCode.NotFound, 'no encrypted conversation with that user yet');
    const keysOf = (u: UserId) => group.members().filter((m) => m.userId === u).map((m) => m.signaturePublicKey);
    return safetyNumber({ userId: me, identityKeys: keysOf(me) }, { userId, identityKeys: keysOf(userId) });
  }

  identityWarning(conversationId: ConversationId): Promise<boolean> {
    return this.peers.warning(conversationId);
  }

  acknowledgeIdentity(conversationId: ConversationId): Promise<void> {
    return this.peers.acknowledge(conversationId);
  }

  // ---- internals ----

  private async confirmed(group: MlsGroup, commit: PendingCommit): Promise<void> {
    const { api, logger, credentials } = this.host;
    const conversationId = group.conversationId;
    await this.dropCommits(conversationId);
    if (commit.welcome !== undefined && commit.added.length > 0) {
      try {
        for (const batch of welcomeBatches(commit.added, commit.welcome.length)) {
          await api.postInbox(batch.map((d) => ({ deviceId: d.deviceId, kind: 'welcome' as const, body: commit.welcome! })));
        }
      } catch (error) {
        logger.warn('Welcome post failed', { conversationId: String(conversationId), error: String(error) });
      }
      const conversation = await this.host.replica.conversation(conversationId);
      const ownNew = commit.added.filter((d) => d.userId === credentials.userId);
      if (conversation?.kind === 'self' && ownNew.length > 0) await this.history.send(group, ownNew.map((d) => d.deviceId));
    }
    await this.peers.check(group);
    this.afterEpoch(conversationId);
  }

  private afterEpoch(conversationId: ConversationId): void {
    this.host.requestFlush();
    void this.membership.reconcile(conversationId);
  }

  /** Drops our queued Commits of a conversation that are not the pending one (they lost or landed). */
  private async dropCommits(conversationId: ConversationId): Promise<void> {
    const group = await this.groups.get(conversationId);
    const keep = group?.pending?.commit;
    for (const item of await this.host.replica.pending()) {
      if (item.conversationId !== conversationId || item.type !== EntryType.Mls) continue;
      if (keep !== undefined && bytesEqual(keep, item.body)) continue;
      await this.host.replica.dropOutboxItem(item.clientMsgId);
    }
  }
}

