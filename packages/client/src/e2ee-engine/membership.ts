/**
 * Groups follow conversations. A reconcile pass compares a conversation's
 * members (server-authoritative) with its MLS group's leaves and commits the
 * difference: creates the group, adds devices that have no leaf (claiming
 * their KeyPackages), removes leaves of users who left. One Commit at a time
 * per group; a lost race (stale_epoch) is simply reconciled again on the new
 * epoch.
 *
 * Who acts: the device that made the change (the initiator) at once; for
 * repairs, deterministically one member device — for a missing device of a
 * user who already has leaves, that user's device with the lowest leaf index
 * (so a user's existing device adds their newly linked one); otherwise, and
 * for removals, the lowest leaf index among remaining members. Leaves of
 * devices the server no longer lists for their user (revoked with
 * DELETE /v1/devices/:id) are removed the same way. Two devices
 * acting anyway is safe: the server takes one Commit per epoch.
 */
import { EntryType, type ConversationId, type DeviceId, type UserId } from '@tidings/shared';
import type { DeviceRef } from '../e2ee/identity.js';
import { MlsGroup } from '../e2ee/group.js';
import type { Member } from '../e2ee/members.js';
import { parseKeyPackage } from '../e2ee/key-packages.js';
import type { TimerHandle } from '../runtime/clock.js';
import type { GroupCache } from './groups.js';
import type { E2eeHost } from './host.js';

type Plan =
  | { readonly kind: 'create'; readonly users: readonly UserId[] }
  | { readonly kind: 'remove'; readonly devices: readonly DeviceRef[] }
  | { readonly kind: 'add'; readonly users: readonly UserId[]; readonly initiator: boolean; readonly leaves: readonly Member[] };

/** Active devices per member, as the server lists them. */
type DeviceLists = Map<UserId, ReadonlySet<DeviceId>>;

/** First wait before asking again for KeyPackages of member devices that had none, doubled per attempt, in ms. */
export const KEY_PACKAGE_RETRY_BASE_MS = 1000;
/** Longest wait between those attempts, in ms. */
export const KEY_PACKAGE_RETRY_MAX_MS = 60_000;
/** Attempts before the retry gives up (repairs on reconnect and on every epoch go on). */
export const KEY_PACKAGE_RETRY_ATTEMPTS = 12;

const key = (d: DeviceRef): string => `${d.userId}:${d.deviceId}`;
const lowest = (members: readonly Member[]): Member | undefined =>
  members.reduce<Member | undefined>((a, m) => (a === undefined || m.leafIndex < a.leafIndex ? m : a), undefined);

export class Membership {
  /** Conversations this device changed and must carry through (create, add, remove). */
  private readonly initiated = new Set<ConversationId>();
  private readonly running = new Map<ConversationId, Promise<void>>();
  private readonly again = new Set<ConversationId>();
  private readonly retries = new Map<ConversationId, { attempts: number; timer: TimerHandle | null }>();
  private stopped = false;

  constructor(
    private readonly host: E2eeHost,
    private readonly groups: GroupCache,
    /** False while this device may not key anything (its ciphersuite is not the server's). */
    private readonly allowed: () => Promise<boolean>,
  ) {}

  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Brings the conversation's group in line with its members; `initiator` when this device made the change. */
  reconcile(conversationId: ConversationId, initiator = false): Promise<void> {
    if (initiator) this.initiated.add(conversationId);
    const running = this.running.get(conversationId);
    if (running) {
      this.again.add(conversationId);
      return running;
    }
    const run = (async () => {
      do {
        this.again.delete(conversationId);
        try {
          await this.once(conversationId);
        } catch (error) {
          this.host.logger.warn('group reconcile failed', { conversationId: String(conversationId), error: String(error) });
        }
      } while (this.again.has(conversationId));
    })().finally(() => this.running.delete(conversationId));
    this.running.set(conversationId, run);
    return run;
  }

  /** Stops the retry timers (the engine is stopping). */
  stop(): void {
    for (const r of this.retries.values()) if (r.timer !== null) this.host.clock.clearTimeout(r.timer);
    this.retries.clear();
    this.stopped = true;
  }

  /** Reconciles again later, with backoff, while some member device has no KeyPackage on the server. */
  private retryLater(conversationId: ConversationId): void {
    if (this.stopped) return;
    const r = this.retries.get(conversationId) ?? { attempts: 0, timer: null };
    if (r.timer !== null || r.attempts >= KEY_PACKAGE_RETRY_ATTEMPTS) return;
    const delay = Math.min(KEY_PACKAGE_RETRY_BASE_MS * 2 ** r.attempts, KEY_PACKAGE_RETRY_MAX_MS);
    r.attempts += 1;
    r.timer = this.host.clock.setTimeout(() => {
      r.timer = null;
      void this.reconcile(conversationId);
    }, delay);
    this.retries.set(conversationId, r);
  }

  /** Forgets that this device started a change (its creation lost, or nothing is left to do). */
  settle(conversationId: ConversationId): void {
    this.initiated.delete(conversationId);
  }

  private async once(conversationId: ConversationId): Promise<void> {
    if (!(await this.allowed())) return;
    let plan = await this.host.exclusive(() => this.plan(conversationId));
    if (plan === null) return;
    let lists: DeviceLists = new Map();
    if (plan.kind === 'add') {
      lists = await this.deviceLists(plan.users);
      plan = this.revokedLeaves(plan, lists) ?? plan;
    }
    let keyPackages: Uint8Array[] = [];
    if (plan.kind !== 'remove') {
      const wanted = plan.kind === 'add' ? this.missingDevices(plan, lists) : null;
      if (wanted !== null && wanted.size === 0) {
        this.settle(conversationId);
        return;
      }
      const users = plan.kind === 'add' ? [...new Set([...wanted!.values()].map((d) => d.userId))] : plan.users;
      const claim = await this.host.api.claimKeyPackages(users, wanted === null ? undefined : [...wanted.values()].map((d) => d.deviceId));
      keyPackages = claim.keyPackages.filter((k) => wanted === null || wanted.has(key(k))).map((k) => k.keyPackage);
      if (claim.missing.length > 0) this.retryLater(conversationId); // devices without a KeyPackage yet (e.g. just signed up)
      else this.retries.delete(conversationId);
      const self = this.host.credentials.userId;
      if (plan.kind === 'create' && users.some((u) => u !== self && !claim.keyPackages.some((k) => k.userId === u))) {
        // A member none of whose devices can be added yet: a group made now would leave them out of every
        // message sent before the retry. Messages wait in the outbox (one tick) until the group can include them.
        return;
      }
      if (plan.kind === 'add' && keyPackages.length === 0) {
        this.settle(conversationId); // none of them has a KeyPackage now; the retry or a later pass adds them
        return;
      }
    }
    await this.host.exclusive(() => this.commit(conversationId, plan, keyPackages));
  }

  /** Reads the conversation and its group; on the engine queue. */
  private async plan(conversationId: ConversationId): Promise<Plan | null> {
    const { replica, credentials } = this.host;
    const conversation = await replica.conversation(conversationId);
    if (conversation === null || conversation.kind === 'unknown') return null; // its `conversation` frame will come
    if (conversation.left) {
      this.settle(conversationId);
      return null;
    }
    const initiator = this.initiated.has(conversationId);
    const group = await this.groups.get(conversationId);
    if (group === undefined) {
      if (!initiator || (await replica.hasHeldCommit(conversationId))) {
        this.settle(conversationId); // someone else created it: wait for the Welcome
        return null;
      }
      return { kind: 'create', users: conversation.members };
    }
    if (group.pending !== undefined || !group.active) return null;
    const desired = new Set(conversation.members);
    const leaves = group.members();
    const staying = leaves.filter((l) => desired.has(l.userId));
    const leaving = leaves.filter((l) => !desired.has(l.userId));
    if (leaving.length > 0) {
      const actor = lowest(staying);
      if (!initiator && (actor === undefined || actor.deviceId !== credentials.deviceId)) return null;
      return { kind: 'remove', devices: leaving.map((l) => ({ userId: l.userId, deviceId: l.deviceId })) };
    }
    return { kind: 'add', users: conversation.members, initiator, leaves: staying };
  }

  /** Each member's active devices as the server lists them; a user whose list cannot be read now is left out. */
  private async deviceLists(users: readonly UserId[]): Promise<DeviceLists> {
    const lists: DeviceLists = new Map();
    for (const userId of users) {
      try {
        lists.set(userId, new Set(await this.host.api.devices(userId)));
      } catch {
        // not a contact any more, or the server is unreachable: a later pass retries
      }
    }
    return lists;
  }

  /**
   * Leaves of devices their user no longer has (revoked, or removed by the
   * user): a removal plan when this device is the one to Commit it (the
   * initiator, or the lowest remaining leaf), else null.
   */
  private revokedLeaves(plan: Extract<Plan, { kind: 'add' }>, lists: DeviceLists): Plan | null {
    const me = this.host.credentials;
    const gone = plan.leaves.filter((l) => l.deviceId !== me.deviceId && lists.get(l.userId)?.has(l.deviceId) === false);
    if (gone.length === 0) return null;
    const goneKeys = new Set(gone.map(key));
    const actor = lowest(plan.leaves.filter((l) => !goneKeys.has(key(l))));
    if (!plan.initiator && actor?.deviceId !== me.deviceId) return null;
    return { kind: 'remove', devices: gone.map((l) => ({ userId: l.userId, deviceId: l.deviceId })) };
  }

  /** Devices of members without a leaf that this device should add, by key. */
  private missingDevices(plan: Extract<Plan, { kind: 'add' }>, lists: DeviceLists): Map<string, DeviceRef> {
    const me = this.host.credentials;
    const have = new Set(plan.leaves.map(key));
    const out = new Map<string, DeviceRef>();
    for (const [userId, devices] of lists) {
      const theirs = plan.leaves.filter((l) => l.userId === userId);
      const actor = lowest(theirs.length > 0 ? theirs : plan.leaves);
      const mine = plan.initiator || actor?.deviceId === me.deviceId;
      for (const deviceId of devices) {
        const d = { userId, deviceId };
        if (deviceId !== me.deviceId && !have.has(key(d)) && mine) out.set(key(d), d);
      }
    }
    return out;
  }

  /** Makes the Commit and queues it; on the engine queue. */
  private async commit(conversationId: ConversationId, plan: Plan, keyPackages: Uint8Array[]): Promise<void> {
    const { replica, credentials } = this.host;
    let group = await this.groups.get(conversationId);
    if (plan.kind === 'create') {
      if (group !== undefined || (await replica.hasHeldCommit(conversationId))) return;
      group = await MlsGroup.create(await this.groups.identity(), conversationId);
    } else if (group === undefined || group.pending !== undefined || !group.active) {
      this.again.add(conversationId);
      return;
    }
    const leaves = new Set(group.members().map(key));
    let commit;
    if (plan.kind === 'remove') {
      const devices = plan.devices.filter((d) => leaves.has(key(d)));
      if (devices.length === 0) return;
      commit = await group.proposeRemove(devices);
    } else {
      const fresh = keyPackages.filter((kp) => {
        const device = deviceOfKeyPackage(kp);
        return device !== undefined && !leaves.has(key(device)) && device.deviceId !== credentials.deviceId;
      });
      if (fresh.length === 0 && plan.kind === 'add') return;
      commit = await group.proposeAdd(fresh);
    }
    await this.groups.save(group);
    await replica.enqueueEntry({
      clientMsgId: this.host.newClientMsgId(),
      conversationId,
      type: EntryType.Mls,
      body: commit.commit,
      createdAt: this.host.clock.now(),
      attempts: 0,
    });
    this.host.requestFlush();
  }
}

function deviceOfKeyPackage(bytes: Uint8Array): DeviceRef | undefined {
  try {
    return parseKeyPackage(bytes).device;
  } catch {
    return undefined;
  }
}
