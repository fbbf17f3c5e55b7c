/**
 * One conversation's MLS group, as seen by one device. A thin, storage-
 * agnostic wrapper around ts-mls's immutable ClientState: every operation
 * computes a new state and swaps it in only on success (so bad input changes
 * nothing), and operations on one group run one at a time (two concurrent
 * encrypts must never reuse a ratchet generation).
 *
 * Commits are two-phase because the server accepts at most one Commit per
 * epoch: `proposeAdd`/`proposeRemove` return the Commit to send and keep the
 * next state aside; `confirm` applies it once the server has ordered it (or
 * `processCommit` does when the Commit comes back on the log); if another
 * member's Commit for the same epoch arrives first, `processCommit` applies
 * that one, drops ours and reports it as `superseded` so the caller can retry
 * its change against the new epoch.
 */
import type { ConversationId } from '@tidings/shared';
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  emptyPskIndex,
  joinGroup,
  mlsExporter,
  processPrivateMessage,
  type CiphersuiteImpl,
  type ClientState,
  type Proposal,
} from 'ts-mls';
import { bytesEqual, toHex } from './bytes.js';
import { E2eeError, wrapError } from './errors.js';
import { decodeStoredGroup, encodeStoredGroup, type PendingCommit } from './group-codec.js';
import type { DeviceIdentity, DeviceRef } from './identity.js';
import { newKeyPackage, openKeyPackage, parseKeyPackage } from './key-packages.js';
import { leavesOf, memberAt, membersOf, type Member } from './members.js';
import { CLIENT_CONFIG, openApplicationMessage } from './mls-internals.js';
import { concurrentVerify, type ProviderKind } from './provider.js';
import { loadSuite, parseSuiteName, type SuiteName } from './suite.js';
import { conversationIdOf, decodeMessage, encodeMessage, groupIdOf } from './wire.js';

export type { PendingCommit } from './group-codec.js';

export interface DecryptedMessage {
  readonly plaintext: Uint8Array;
  readonly sender: DeviceRef;
  readonly epoch: bigint;
}

/**
 * Overwrites a used secret (a ratchet key or nonce ts-mls hands back as consumed) with zeros.
 * ts-mls's own zeroOutUint8Array first fills the buffer from the CSPRNG (a ~5 µs WebCrypto
 * call per buffer, several per message: about 5 % of a message's encrypt and decrypt in Node);
 * a plain fill clears it just as well, since a typed array's writes are never elided.
 */
const wipe = (secret: Uint8Array): void => void secret.fill(0);

/** What processing a Commit from the log did. */
export type CommitOutcome =
  /** It was our own pending Commit: now applied. */
  | { readonly kind: 'confirmed'; readonly epoch: bigint }
  /** Another member's Commit: applied. `superseded` is our pending Commit that lost the epoch (retry it). */
  | { readonly kind: 'applied'; readonly epoch: bigint; readonly superseded: PendingCommit | undefined; readonly removedSelf: boolean };

/** Looks up the private half of a stored KeyPackage by its hex ref. */
export type KeyPackageLookup = (ref: string) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export interface GroupOptions {
  /** The CryptoProvider to run on; default `fast` (node:crypto in Node, cached WebCrypto in browsers). */
  readonly provider?: ProviderKind;
}

interface Pending {
  readonly commit: PendingCommit;
  readonly state: ClientState;
  readonly consumed: Uint8Array[];
}

/**
 * Application messages opened with `verifyLater`, whose signatures are still
 * being checked: the state before the first of them (its secrets are not
 * wiped until every check passed, so it stays usable), the secrets they used
 * and the checks.
 */
interface UncheckedRun {
  readonly start: ClientState;
  readonly consumed: Uint8Array[];
  readonly checks: Promise<boolean>[];
  /** The group's suite whose signature check only queues the real one on `checks`. */
  readonly impl: CiphersuiteImpl;
}

export interface DecryptOptions {
  /**
   * Check the signature later, off this thread where the platform can, so
   * that the next message's decryption overlaps with it. The plaintext must
   * not be used until `verifyPending()` resolves true; when it resolves
   * false, the group is back at the state before the first unchecked
   * message and the messages must be opened again without this option (to
   * learn which one failed). Any other operation on the group first waits
   * for the checks the same way.
   */
  readonly verifyLater?: boolean;
}

export class MlsGroup {
  private queue: Promise<unknown> = Promise.resolve();
  private unchecked: UncheckedRun | undefined;
  /** A run of unchecked messages failed a check since the last `verifyPending()`. */
  private uncheckedFailed = false;

  private constructor(
    private state: ClientState,
    private readonly impl: CiphersuiteImpl,
    readonly suite: SuiteName,
    private pendingCommit: Pending | undefined,
  ) {}

  /** The open run of unchecked messages, opened at the current state if there is none. */
  private uncheckedRun(): UncheckedRun {
    if (this.unchecked !== undefined) return this.unchecked;
    const checks: Promise<boolean>[] = [];
    const check = concurrentVerify(this.impl.signature);
    const verify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> => {
      checks.push(check(publicKey, message, signature));
      return Promise.resolve(true);
    };
    this.unchecked = { start: this.state, consumed: [], checks, impl: { ...this.impl, signature: { ...this.impl.signature, verify } } };
    return this.unchecked;
  }

  /** A new group with this device as its only member, at epoch 0. */
  static async create(identity: DeviceIdentity, conversationId: ConversationId, options: GroupOptions = {}): Promise<MlsGroup> {
    const impl = await loadSuite(identity.suite, options.provider);
    const kp = await newKeyPackage(identity, impl);
    const state = await createGroup(groupIdOf(conversationId), kp.publicPackage, kp.privatePackage, [], impl, CLIENT_CONFIG);
    return new MlsGroup(state, impl, identity.suite, undefined);
  }

  /** Joins from a Welcome; returns the ref of the KeyPackage it used (delete it from the store). */
  static async join(
    welcomeBytes: Uint8Array,
    lookup: KeyPackageLookup,
    options: GroupOptions = {},
  ): Promise<{ group: MlsGroup; keyPackageRef: string }> {
    const m = decodeMessage(welcomeBytes);
    if (m.wireformat !== 'mls_welcome') throw new E2eeError('invalid_message', `expected a Welcome, got ${m.wireformat}`);
    const suite = parseSuiteName(m.welcome.cipherSuite);
    const impl = await loadSuite(suite, options.provider);
    for (const secret of m.welcome.secrets) {
      const ref = toHex(secret.newMember);
      const stored = await lookup(ref);
      if (stored === undefined) continue;
      const kp = openKeyPackage(stored);
      try {
        const state = await joinGroup(m.welcome, kp.publicPackage, kp.privatePackage, emptyPskIndex, impl, undefined, undefined, CLIENT_CONFIG);
        conversationIdOf(state.groupContext.groupId);
        return { group: new MlsGroup(state, impl, suite, undefined), keyPackageRef: ref };
      } catch (err) {
        throw wrapError('decryption_failed', 'cannot join from Welcome', err);
      }
    }
    throw new E2eeError('unknown_key_package', 'the Welcome names none of our KeyPackages');
  }

  /** Restores a group from `serialize()` bytes. */
  static async restore(bytes: Uint8Array, options: GroupOptions = {}): Promise<MlsGroup> {
    const stored = decodeStoredGroup(bytes);
    const impl = await loadSuite(stored.suite, options.provider);
    const pending = stored.pending && { commit: stored.pending.commit, state: stored.pending.state, consumed: [] };
    return new MlsGroup(stored.state, impl, stored.suite, pending);
  }

  get conversationId(): ConversationId {
    return conversationIdOf(this.state.groupContext.groupId);
  }

  get epoch(): bigint {
    return this.state.groupContext.epoch;
  }

  /** False once this device has been removed from the group. */
  get active(): boolean {
    return this.state.groupActiveState.kind === 'active';
  }

  get self(): Member {
    return memberAt(this.state.ratchetTree, this.state.privatePath.leafIndex);
  }

  get pending(): PendingCommit | undefined {
    return this.pendingCommit?.commit;
  }

  /** Member devices at the current epoch, in leaf order. */
  members(): Member[] {
    return membersOf(this.state.ratchetTree);
  }

  /**
   * A secret of the current epoch for another purpose than messages (RFC 9420 §8.5, MLS-Exporter):
   * every member of this epoch derives the same bytes; it changes with each Commit.
   */
  exportSecret(label: string, context: Uint8Array, length: number): Promise<Uint8Array> {
    return this.serial(async () => {
      this.assertActive();
      return mlsExporter(this.state.keySchedule.exporterSecret, label, context, length, this.impl);
    });
  }

  /** Commit adding the devices whose KeyPackages (MLSMessage bytes, untrusted) are given. */
  proposeAdd(keyPackages: readonly Uint8Array[]): Promise<PendingCommit> {
    return this.serial(async () => {
      const parsed = keyPackages.map((bytes) => parseKeyPackage(bytes));
      const proposals: Proposal[] = parsed.map(({ keyPackage }) => ({ proposalType: 'add', add: { keyPackage } }));
      return this.propose(proposals, parsed.map((p) => p.device), []);
    });
  }

  /** Commit removing the given devices. */
  proposeRemove(devices: readonly DeviceRef[]): Promise<PendingCommit> {
    return this.serial(async () => {
      const leaves = leavesOf(this.state.ratchetTree, devices);
      const proposals: Proposal[] = leaves.map((removed) => ({ proposalType: 'remove', remove: { removed } }));
      return this.propose(proposals, [], devices);
    });
  }

  private async propose(proposals: Proposal[], added: DeviceRef[], removed: readonly DeviceRef[]): Promise<PendingCommit> {
    this.assertActive();
    if (this.pendingCommit !== undefined) throw new E2eeError('pending_commit', 'a Commit is already pending');
    let result;
    try {
      result = await createCommit({ state: this.state, cipherSuite: this.impl }, { extraProposals: proposals, ratchetTreeExtension: true });
    } catch (err) {
      throw wrapError('invalid_message', 'cannot create Commit', err);
    }
    const welcome = result.welcome && encodeMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: result.welcome });
    const commit: PendingCommit = { epoch: this.epoch, commit: encodeMessage(result.commit), welcome, added, removed: [...removed] };
    this.pendingCommit = { commit, state: result.newState, consumed: result.consumed };
    return commit;
  }

  /** The server ordered our pending Commit: apply it. */
  confirm(): Promise<bigint> {
    return this.serial(async () => this.applyPending());
  }

  /** Drops our pending Commit (e.g. the server rejected it for a reason other than a lost race). */
  abandon(): Promise<PendingCommit | undefined> {
    return this.serial(async () => {
      const dropped = this.pendingCommit?.commit;
      this.pendingCommit = undefined;
      return dropped;
    });
  }

  private applyPending(): bigint {
    const pending = this.pendingCommit;
    if (pending === undefined) throw new E2eeError('invalid_message', 'no Commit is pending');
    // The pending state kept a snapshot of this epoch's secret tree from when the Commit was made;
    // messages decrypted since then advanced it. Keep the advanced one so used keys stay forgotten.
    const past = new Map(pending.state.historicalReceiverData);
    const entry = past.get(this.epoch);
    if (entry !== undefined) past.set(this.epoch, { ...entry, secretTree: this.state.secretTree });
    this.state = { ...pending.state, historicalReceiverData: past };
    this.pendingCommit = undefined;
    pending.consumed.forEach(wipe);
    return this.epoch;
  }

  /** Applies a Commit read from the conversation log (ours or another member's). */
  processCommit(bytes: Uint8Array): Promise<CommitOutcome> {
    return this.serial(async () => {
      const m = decodeMessage(bytes);
      if (m.wireformat !== 'mls_private_message' || m.privateMessage.contentType !== 'commit') {
        throw new E2eeError('invalid_message', 'expected a Commit in a PrivateMessage');
      }
      this.checkEpoch(m.privateMessage.groupId, m.privateMessage.epoch, 'Commit');
      if (this.pendingCommit !== undefined && bytesEqual(bytes, this.pendingCommit.commit.commit)) {
        return { kind: 'confirmed', epoch: this.applyPending() };
      }
      let result;
      try {
        result = await processPrivateMessage(this.state, m.privateMessage, emptyPskIndex, this.impl);
      } catch (err) {
        throw wrapError('decryption_failed', 'cannot process Commit', err);
      }
      if (result.kind !== 'newState') throw new E2eeError('invalid_message', 'expected a Commit');
      const superseded = this.pendingCommit?.commit;
      this.pendingCommit = undefined;
      this.state = result.newState;
      result.consumed.forEach(wipe);
      return { kind: 'applied', epoch: this.epoch, superseded, removedSelf: !this.active };
    });
  }

  /** Encrypts an application message as MLSMessage(PrivateMessage) bytes. */
  encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    return this.serial(async () => {
      this.assertActive();
      const result = await createApplicationMessage(this.state, plaintext, this.impl);
      this.state = result.newState;
      result.consumed.forEach(wipe);
      return encodeMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: result.privateMessage });
    });
  }

  /** Decrypts and authenticates an application message; names the sending device. See DecryptOptions for `verifyLater`. */
  decrypt(bytes: Uint8Array, options: DecryptOptions = {}): Promise<DecryptedMessage> {
    const later = options.verifyLater === true;
    return this.serial(async () => {
      const m = decodeMessage(bytes);
      if (m.wireformat !== 'mls_private_message' || m.privateMessage.contentType !== 'application') {
        throw new E2eeError('invalid_message', 'expected an application PrivateMessage');
      }
      const pm = m.privateMessage;
      const past = pm.epoch < this.epoch ? this.state.historicalReceiverData.get(pm.epoch) : undefined;
      if (past === undefined) this.checkEpoch(pm.groupId, pm.epoch, 'message');
      else if (!bytesEqual(pm.groupId, this.state.groupContext.groupId)) throw new E2eeError('unknown_group', 'message is for another group');
      const run = later ? this.uncheckedRun() : undefined;
      try {
        const opened = await openApplicationMessage(this.state, pm, run?.impl ?? this.impl);
        const sender = memberAt(opened.tree, opened.senderLeaf);
        this.state = opened.newState;
        if (run) run.consumed.push(...opened.consumed);
        else opened.consumed.forEach(wipe);
        return { plaintext: opened.plaintext, sender: { userId: sender.userId, deviceId: sender.deviceId }, epoch: pm.epoch };
      } catch (err) {
        throw wrapError('decryption_failed', 'cannot decrypt message', err);
      }
    }, later);
  }

  /**
   * Waits for the signature checks of messages opened with `verifyLater`:
   * true when every one passed (their used secrets are wiped now); false when
   * one failed, and the group is then back where the first of them started.
   */
  verifyPending(): Promise<boolean> {
    return this.serial(async () => {
      await this.closeUnchecked();
      const failed = this.uncheckedFailed;
      this.uncheckedFailed = false;
      return !failed;
    });
  }

  private async closeUnchecked(): Promise<void> {
    const run = this.unchecked;
    if (run === undefined) return;
    this.unchecked = undefined;
    const results = await Promise.all(run.checks);
    if (results.every(Boolean)) {
      run.consumed.forEach(wipe);
      return;
    }
    this.state = run.start;
    this.uncheckedFailed = true;
  }

  /** The whole group state (secret: it holds private keys), including a pending Commit. */
  serialize(): Uint8Array {
    const pending = this.pendingCommit && { commit: this.pendingCommit.commit, state: this.pendingCommit.state };
    // Never store ratchet state that unchecked messages advanced: until their checks pass, the state before them.
    return encodeStoredGroup({ suite: this.suite, state: this.unchecked?.start ?? this.state, pending });
  }

  private checkEpoch(groupId: Uint8Array, epoch: bigint, what: string): void {
    if (!bytesEqual(groupId, this.state.groupContext.groupId)) throw new E2eeError('unknown_group', `${what} is for another group`);
    const epochs = { messageEpoch: epoch, groupEpoch: this.epoch };
    if (epoch > this.epoch && !this.active) throw new E2eeError('not_a_member', `this device was removed before epoch ${epoch}`, epochs);
    if (epoch < this.epoch) throw new E2eeError('stale_epoch', `${what} is for epoch ${epoch}, the group is at ${this.epoch}`, epochs);
    if (epoch > this.epoch) throw new E2eeError('future_epoch', `${what} is for epoch ${epoch}, the group is at ${this.epoch}`, epochs);
  }

  private assertActive(): void {
    if (!this.active) throw new E2eeError('not_a_member', 'this device was removed from the group');
  }

  /** Runs `op` after the group's earlier operations; every operation but an unchecked decrypt first settles the open unchecked run. */
  private serial<T>(op: () => Promise<T>, keepsUnchecked = false): Promise<T> {
    const step = keepsUnchecked
      ? op
      : async (): Promise<T> => {
          await this.closeUnchecked();
          return op();
        };
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
