/** Simulated devices over the fake Delivery Service: identity, KeyPackage store, groups and log cursors. */
import { parseConversationId, parseDeviceId, parseUserId, type ConversationId, type DeviceId, type UserId } from '@tidings/shared';
import {
  MlsGroup,
  createDeviceIdentity,
  generateKeyPackages,
  isE2eeError,
  peekMessage,
  type DecryptedMessage,
  type DeviceIdentity,
  type PendingCommit,
  type ProviderKind,
} from '../../src/e2ee/index.js';
import type { FakeDeliveryService } from './delivery-service.js';

export const userId = (n: number): UserId => parseUserId(n);
export const deviceId = (user: number, k: number): DeviceId => parseDeviceId(user * 100 + k);
export const conversationId = (n: number): ConversationId => parseConversationId(n);

export class SimDevice {
  readonly groups = new Map<ConversationId, MlsGroup>();
  readonly cursors = new Map<ConversationId, number>();
  readonly received: DecryptedMessage[] = [];
  /** Messages read from the log that did not decrypt (a removed device reading later traffic). */
  readonly failures: Error[] = [];
  private readonly sent = new Set<Uint8Array>();
  private readonly keyPackages = new Map<string, Uint8Array>();

  private constructor(
    readonly identity: DeviceIdentity,
    private readonly ds: FakeDeliveryService,
  ) {}

  static async create(ds: FakeDeliveryService, user: number, k: number, stock = 3): Promise<SimDevice> {
    const identity = await createDeviceIdentity({ userId: userId(user), deviceId: deviceId(user, k) });
    const device = new SimDevice(identity, ds);
    await device.refill(stock);
    return device;
  }

  get name(): string {
    return `${this.identity.userId}:${this.identity.deviceId}`;
  }

  async refill(count: number): Promise<void> {
    const bundles = await generateKeyPackages(this.identity, count);
    for (const b of bundles) this.keyPackages.set(b.ref, b.privateBytes);
    this.ds.uploadKeyPackages(this.identity, bundles.map((b) => b.publicBytes));
  }

  group(id: ConversationId): MlsGroup {
    const g = this.groups.get(id);
    if (g === undefined) throw new Error(`${this.name} has no group ${id}`);
    return g;
  }

  async createConversation(id: ConversationId): Promise<MlsGroup> {
    this.ds.createConversation(id);
    const g = await MlsGroup.create(this.identity, id);
    this.groups.set(id, g);
    this.cursors.set(id, 0);
    return g;
  }

  /** Joins every group whose Welcome waits in the inbox. */
  async acceptInvitations(): Promise<void> {
    for (const inv of this.ds.drainInbox(this.identity)) {
      const { group, keyPackageRef } = await MlsGroup.join(inv.welcome, (ref) => this.keyPackages.get(ref));
      this.keyPackages.delete(keyPackageRef);
      this.groups.set(inv.conversationId, group);
      this.cursors.set(inv.conversationId, inv.cursor);
    }
  }

  /** Reads the log from the cursor, applying Commits and decrypting messages. Returns Commits of ours that lost. */
  async sync(id: ConversationId): Promise<PendingCommit[]> {
    const g = this.group(id);
    const from = this.cursors.get(id) ?? 0;
    const superseded: PendingCommit[] = [];
    const entries = this.ds.read(id, from);
    this.cursors.set(id, from + entries.length);
    for (const bytes of entries) {
      if (peekMessage(bytes).kind === 'commit') {
        if (!g.active) continue;
        // The log orders no losing Commits, so one from a past epoch is a redelivery of one already applied.
        if ((peekMessage(bytes).epoch ?? 0n) < g.epoch) continue;
        const outcome = await g.processCommit(bytes);
        if (outcome.kind === 'applied' && outcome.superseded !== undefined) superseded.push(outcome.superseded);
      } else if (!this.sent.has(bytes)) {
        // (MLS senders cannot decrypt their own messages; the log hands back the very same bytes.)
        try {
          this.received.push(await g.decrypt(bytes));
        } catch (err) {
          if (!isE2eeError(err)) throw err;
          this.failures.push(err);
        }
      }
    }
    return superseded;
  }

  /** Encrypts and sends; when the log has moved to a newer epoch, catches up and encrypts again. */
  async send(id: ConversationId, text: string): Promise<void> {
    for (;;) {
      const bytes = await this.group(id).encrypt(new TextEncoder().encode(text));
      try {
        this.ds.send(bytes);
        this.sent.add(bytes);
        return;
      } catch (err) {
        if (!isE2eeError(err, 'stale_epoch')) throw err;
        await this.sync(id);
      }
    }
  }

  /**
   * Makes a change as a Commit and gets it ordered, rebasing when another member's Commit wins the epoch:
   * `make` is asked again against the new epoch and may return undefined when nothing is left to do.
   */
  async commit(id: ConversationId, make: (g: MlsGroup) => Promise<PendingCommit | undefined>): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      await this.sync(id);
      const pending = await make(this.group(id));
      if (pending === undefined) return attempt;
      try {
        this.ds.submitCommit(pending);
      } catch (err) {
        if (!isE2eeError(err, 'stale_epoch')) throw err;
        continue; // the next sync applies the winner and drops ours
      }
      await this.sync(id); // reads our own Commit back: confirmed
      return attempt;
    }
  }
}

export const text = (m: DecryptedMessage): string => new TextDecoder().decode(m.plaintext);

/** Users n and n+1 (one device each) in conversation n: the creator's group on provider `a`, the joiner's on `b`. */
export async function twoMemberGroups(n: number, a: ProviderKind = 'fast', b: ProviderKind = 'fast'): Promise<[MlsGroup, MlsGroup]> {
  const alice = await createDeviceIdentity({ userId: userId(n), deviceId: deviceId(n, 1) });
  const bob = await createDeviceIdentity({ userId: userId(n + 1), deviceId: deviceId(n + 1, 1) });
  const ga = await MlsGroup.create(alice, conversationId(n), { provider: a });
  const [kp] = await generateKeyPackages(bob, 1);
  if (kp === undefined) throw new Error('no KeyPackage');
  const add = await ga.proposeAdd([kp.publicBytes]);
  await ga.confirm();
  if (add.welcome === undefined) throw new Error('no Welcome');
  const { group: gb } = await MlsGroup.join(add.welcome, () => kp.privateBytes, { provider: b });
  return [ga, gb];
}
