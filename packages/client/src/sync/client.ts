/**
 * TidingsClient: the sync engine. It keeps the replica in step with the server
 * over one connection (vector-cursor catch-up, live entries with gap repair),
 * flushes the outbox, acks receipts, tracks presence and typing, and exposes
 * queries that read only the replica (and, for ephemeral state, memory).
 */
import {
  CloseCode,
  ErrorCode,
  MAX_BODY_BYTES,
  TidingsError,
  type ClientFrame,
  type ConversationId,
  type DeviceId,
  type Entry,
  type EntryId,
  type PresenceItem,
  type ServerFrame,
  type UserId,
} from '@tidings/shared';
import { HttpApi } from '../api/http-api.js';
import { E2eeSession } from '../e2ee-engine/session.js';
import { withFingerprints, type DeviceView } from '../e2ee-engine/devices.js';
import { partsAtCommits } from '../e2ee-engine/log-reader.js';
import { MlsEnvelope } from '../e2ee-engine/mls-envelope.js';
import { encodePayload } from '../e2ee-engine/payload.js';
import { MAX_CAPTION_CHARS, entryTypeOf, messageContentOf, type Content } from '../envelope/content.js';
import { parseDescriptor, type MediaDescriptor } from '../media/descriptor.js';
import { EngineMedia, type OutgoingFile, type SendFileOptions, type SentFile } from '../media/send-file.js';
import { MediaHttp } from '../media/transfer.js';
import { mediaSecret } from '../e2ee-engine/media-secret.js';
import { Emitter, type Listener } from '../events/emitter.js';
import type { ConversationWithUnread } from '../model/conversation.js';
import { isMessageType, messageUid, pendingSeq, replyRef, type Message } from '../model/message.js';
import type { MemberReceipt } from '../model/receipt.js';
import type { PrivacySettings, PrivacySettingsPatch } from '../model/settings.js';
import { PresenceTracker } from '../presence/presence.js';
import { TypingTracker } from '../presence/typing.js';
import { AckScheduler } from '../receipts/ack-scheduler.js';
import { ReceiptTracker } from '../receipts/receipt-tracker.js';
import { PrivacyTracker } from '../settings/privacy.js';
import type { PageRequest } from '../replica/replica.js';
import { jitteredDelay } from './backoff.js';
import { ChainTracker } from './chain.js';
import { resolveConfig, type ResolvedConfig, type TidingsClientConfig } from './config.js';
import { Connection } from './connection.js';
import type { TidingsEvents } from './events.js';
import { IdleWaiters } from './idle.js';
import { openEntries } from './open-entries.js';
import { OutboxSender } from './outbox-sender.js';
import { PageWindow } from './page-window.js';
import { ignoreState, inBatch, type StateSink } from './state-sink.js';
import type { ClientState } from '../state/client-state.js';
import { wireState, type StateWiring } from '../state/wiring.js';
import { ConnectionState } from './status.js';

/** Room an MLS application message needs beyond its plaintext (header, tag, signature, padding), in bytes. */
const MLS_OVERHEAD_BYTES = 1024;

/** A conversation's MLS group as one device has it. */
export interface GroupState {
  readonly epoch: bigint;
  /** False once this device was removed. */
  readonly active: boolean;
  readonly members: readonly { readonly userId: UserId; readonly deviceId: DeviceId }[];
}

export class TidingsClient {
  private readonly config: ResolvedConfig;
  private readonly events: Emitter<TidingsEvents>;
  private readonly connection: Connection;
  private readonly chain = new ChainTracker();
  private readonly sender: OutboxSender;
  private readonly idle: IdleWaiters;
  private readonly api: HttpApi;
  private readonly acks: AckScheduler;
  private readonly receiptTracker: ReceiptTracker;
  private readonly presenceTracker: PresenceTracker;
  private readonly typingTracker: TypingTracker;
  private readonly privacy: PrivacyTracker;
  private state: ConnectionState = ConnectionState.Offline;
  /** Bumped for every socket; queued work for an older socket is skipped. */
  private session = 0;
  private welcomed = false;
  private synced = false;
  /** Serial queue: frames are handled one at a time, in arrival order. */
  private work: Promise<void> = Promise.resolve();
  /** MLS catch-up pages of different conversations that overlap (see page-window.ts); anything else on the queue drains it first. */
  private readonly pages = new PageWindow();
  private lastLocalTime = 0;
  /** End-to-end encryption, when the envelope is MLS; null for the placeholder envelope. */
  private readonly e2ee: E2eeSession | null;
  private stateSink: StateSink = ignoreState;
  /** A flush is queued and has not started (see requestFlush). */
  private flushQueued = false;
  private readonly stateWiring: StateWiring;
  /** Convergent state (edits, deletions, reactions, pins, group profile, timer; archive, mute, drafts): see state/client-state.ts. */
  readonly crdt: ClientState;
  private readonly media: EngineMedia;

  constructor(config: TidingsClientConfig) {
    this.config = resolveConfig(config);
    const { logger, clock, random, backoff } = this.config;
    this.events = new Emitter((event, error) => logger.error('event listener threw', { event, error: String(error) }));
    this.api = new HttpApi({ serverUrl: config.serverUrl, token: config.credentials.token, ...(config.fetch ? { fetch: config.fetch } : {}) });
    this.sender = new OutboxSender(
      config.replica,
      clock,
      (attempts) => jitteredDelay(attempts, backoff, random),
      () => this.requestFlush(),
    );
    this.idle = new IdleWaiters(clock, () => this.isIdle());
    const self = config.credentials.userId;
    this.privacy = new PrivacyTracker((settings) => {
      this.receiptTracker.settingsChanged();
      this.events.emit('settings', settings);
    });
    const send = (frame: ClientFrame): boolean => this.welcomed && this.connection.send(frame);
    this.acks = new AckScheduler(clock, { delayMs: this.config.ackDelayMs, maxDelayMs: this.config.ackMaxDelayMs }, send);
    this.receiptTracker = new ReceiptTracker(
      config.replica,
      self,
      this.acks,
      { receipts: (change) => this.events.emit('receipts', change), unread: (change) => this.events.emit('unread', change) },
      () => this.privacy.readVisible,
    );
    this.presenceTracker = new PresenceTracker(send, (items) => this.events.emit('presence', items));
    this.typingTracker = new TypingTracker(clock, self, send, (conversationId, userIds) =>
      this.events.emit('typing', { conversationId, userIds }),
    );
    this.e2ee = config.envelope instanceof MlsEnvelope ? this.makeE2ee(config.envelope) : null;
    this.stateWiring = wireState({ replica: config.replica, clock, logger, self, events: this.events, send: (c, d, s) => this.sendState(c, d, s), setRetention: (c, s) => this.api.setRetention(c, s) });
    this.crdt = this.stateWiring.state;
    this.stateSink = this.stateWiring.layer;
    this.media = new EngineMedia({
      http: new MediaHttp({ baseUrl: config.serverUrl.replace(/\/+$/, ''), token: config.credentials.token, ...(config.fetch ? { fetch: config.fetch } : {}) }),
      conversationSecret: async (conversationId) => (this.e2ee ? mediaSecret(this.e2ee.groups, conversationId) : undefined),
      sendMedia: (conversationId, descriptor, caption) => this.sendMedia(conversationId, descriptor, caption),
      queue: {
        store: config.replica,
        deviceId: config.credentials.deviceId,
        clock,
        logger,
        retryDelay: (attempts) => jitteredDelay(attempts, backoff, random),
        online: () => this.welcomed,
        queueMedia: (conversationId, descriptor, caption, ciphertext) =>
          this.sendMessage(conversationId, { t: 'media', media: parseDescriptor(descriptor), caption }, { descriptor, ciphertext }),
        uploaded: () => this.requestFlush(),
        changed: (message) => this.events.emit('message', message),
      },
    });
    this.connection = new Connection(this.config, {
      connecting: () => {
        this.session += 1;
        this.flushQueued = false;
        this.welcomed = false;
        this.synced = false;
        this.sender.reset();
        this.acks.reset();
        this.setState(ConnectionState.Connecting);
      },
      opened: () => this.enqueue(this.session, () => this.hello()),
      frame: (frame) => this.enqueue(this.session, () => this.handle(frame), frame.t === 'entries' && !frame.live),
      lost: (code, reason, delayMs) => {
        logger.info('connection lost', { code, reason, reconnectInMs: delayMs });
        this.disconnected();
      },
      refused: (code, reason) => {
        this.disconnected();
        const errorCode = code === CloseCode.DeviceRevoked ? ErrorCode.Forbidden : ErrorCode.Unauthenticated;
        this.events.emit('error', new TidingsError(errorCode, reason || `connection refused (${code})`));
      },
    });
  }

  private makeE2ee(envelope: MlsEnvelope): E2eeSession {
    const { credentials, replica, logger, clock, newClientMsgId } = this.config;
    return new E2eeSession(
      {
        credentials,
        replica,
        api: this.api,
        logger,
        clock,
        newClientMsgId,
        exclusive: (task) => this.exclusive(task),
        requestFlush: () => this.requestFlush(),
        ackInbox: (upto) => void this.ackInbox(upto),
        stateReceived: (conversationId, entry, data) => this.stateSink.received(conversationId, entry, data),
        stateBatch: (conversationId, open) => inBatch(this.stateSink, conversationId, open),
        messageChanged: (message) => {
          void this.receiptTracker.decorate([message]).then((ms) => ms.forEach((m) => this.events.emit('message', m)));
        },
        groupChanged: (conversationId, epoch) => this.events.emit('groupChanged', { conversationId, epoch }),
        keyPackageStock: (stock) => this.events.emit('keyPackageStock', stock),
        identityChanged: (conversationId, userId) => this.events.emit('identityChanged', { conversationId, userId }),
        failed: (error) => this.events.emit('error', error),
      },
      envelope,
    );
  }

  // ---- lifecycle ----

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof TidingsEvents>(event: K, listener: Listener<TidingsEvents[K]>): () => void {
    return this.events.on(event, listener);
  }

  get status(): ConnectionState {
    return this.state;
  }

  /** Connects, and keeps reconnecting until `stop()` or a refusal. */
  start(): void {
    this.connection.start();
    void this.stateWiring.start().catch((error: unknown) => this.config.logger.warn('state start failed', { error: String(error) }));
  }

  /** Disconnects and waits for in-flight work to finish. The replica stays open (the caller owns it). */
  async stop(): Promise<void> {
    this.e2ee?.stop();
    this.connection.stop();
    this.disconnected();
    await this.media.stop();
    await this.work;
    await this.pages.drain();
    await this.stateWiring.stop();
  }

  // ---- commands ----

  /** Writes an optimistic message and its outbox item (works offline) and sends it when connected. */
  async sendText(conversationId: ConversationId, text: string, opts: { replyTo?: Message } = {}): Promise<Message> {
    if (text.length === 0) throw new TidingsError(ErrorCode.InvalidArgument, 'message text is empty');
    const quoted = opts.replyTo;
    if (quoted === undefined) return this.sendMessage(conversationId, { t: 'text', text });
    if (quoted.conversationId !== conversationId) throw new TidingsError(ErrorCode.InvalidArgument, 'a reply quotes a message of the same conversation');
    return this.sendMessage(conversationId, { t: 'text', text, replyTo: replyRef(quoted) });
  }

  /**
   * Sends a media or document message for a blob already uploaded (see
   * `@tidings/client/media`): the descriptor, with the file's key, travels
   * inside the envelope. Images, audio and video go as Media entries, the rest as Document.
   */
  async sendMedia(conversationId: ConversationId, media: MediaDescriptor, caption = ''): Promise<Message> {
    if (caption.length > MAX_CAPTION_CHARS) throw new TidingsError(ErrorCode.InvalidArgument, `caption is over ${MAX_CAPTION_CHARS} characters`);
    return this.sendMessage(conversationId, { t: 'media', media: parseDescriptor(media), caption });
  }

  /**
   * Sends a file: prepared (images re-encoded with a preview when `opts.imageCodec` is given,
   * gzip when it pays), encrypted, uploaded once (deduplicated, resumable) and sent as a media
   * message. See media/send-file.ts. Offline (or the server unreachable) the sealed file waits
   * in the replica and the message is queued as pending (`queued: true`); both go, in order,
   * once the engine is online again.
   */
  sendFile(conversationId: ConversationId, file: OutgoingFile, opts: SendFileOptions = {}): Promise<SentFile> {
    return this.media.send(conversationId, file, opts);
  }

  /** The decrypted, verified file of a media message (or descriptor), streamed; rejects `not_found` when this user may not read it. */
  download(target: Message | MediaDescriptor): Promise<ReadableStream<Uint8Array>> {
    return this.media.download(target);
  }

  /**
   * Sends an update of the conversation's convergent state (a Crdt entry, or a
   * Snapshot entry with `snapshot`): sealed like a message, never shown as one.
   * Other devices receive it through the sink given to `attachState`.
   * Resolves with its idempotency key once it is in the outbox.
   */
  async sendState(conversationId: ConversationId, data: Uint8Array, snapshot = false): Promise<string> {
    const content: Content = { t: 'state', data };
    const body = await this.sealForOutbox(conversationId, content);
    const clientMsgId = this.config.newClientMsgId();
    await this.config.replica.enqueueEntry({ clientMsgId, conversationId, type: entryTypeOf(content, snapshot), body, createdAt: this.localTime(), attempts: 0 });
    if (this.welcomed) this.requestFlush();
    return clientMsgId;
  }

  /** Routes other devices' state updates to `sink` from now on (the convergent-state layer). */
  attachState(sink: StateSink): void {
    this.stateSink = sink;
  }

  /** With `upload`, the sealed file is stored with the message and its outbox item waits for it (a file sent offline). */
  private async sendMessage(conversationId: ConversationId, content: Exclude<Content, { t: 'state' }>, upload?: { descriptor: MediaDescriptor; ciphertext: Uint8Array }): Promise<Message> {
    const { credentials, replica } = this.config;
    const type = entryTypeOf(content);
    const body = await this.sealForOutbox(conversationId, content);
    const clientMsgId = this.config.newClientMsgId();
    const createdAt = this.localTime();
    const message: Message = {
      uid: messageUid(credentials.deviceId, clientMsgId),
      conversationId,
      seq: pendingSeq(createdAt),
      id: null,
      senderUserId: credentials.userId,
      senderDeviceId: credentials.deviceId,
      clientMsgId,
      type,
      body: this.e2ee ? new Uint8Array(0) : body,
      content: messageContentOf(type, content) ?? { kind: 'unreadable', reason: 'not a message' },
      createdAt,
      state: 'pending',
    };
    const item = { clientMsgId, conversationId, type, body, createdAt, attempts: 0 };
    if (upload) await replica.enqueueUpload(message, item, { clientMsgId, conversationId, ...upload, createdAt });
    else await replica.enqueue(message, item);
    this.events.emit('message', message);
    if (this.welcomed) this.requestFlush();
    return message;
  }

  /** The outbox body: with MLS the plaintext payload (sealed at flush time, in the server's current epoch), else the sealed body. */
  private async sealForOutbox(conversationId: ConversationId, content: Content): Promise<Uint8Array> {
    const body = this.e2ee ? encodePayload(content) : await this.config.envelope.seal(conversationId, content);
    const overhead = this.e2ee ? MLS_OVERHEAD_BYTES : 0;
    if (body.length + overhead > MAX_BODY_BYTES) throw new TidingsError(ErrorCode.PayloadTooLarge, `message is over ${MAX_BODY_BYTES} bytes`);
    return body;
  }

  /** Gets or creates the DM with a user (HTTP). With MLS its group is made on first send. */
  openDm(userId: UserId): Promise<ConversationId> {
    return this.api.openDm(userId);
  }

  /**
   * Creates a group with these members plus the caller (HTTP); returns its
   * conversation id. With MLS this device then creates the MLS group and adds
   * every member device (Commit through the outbox, Welcomes to their inboxes).
   */
  async createGroup(name: string, memberIds: readonly UserId[]): Promise<ConversationId> {
    const id = await this.api.createGroup(name, memberIds);
    void this.e2ee?.changed(id);
    return id;
  }

  /** Adds members (HTTP); with MLS this device then adds their devices to the group. */
  async addMembers(groupId: ConversationId, userIds: readonly UserId[]): Promise<void> {
    await this.api.addMembers(groupId, userIds);
    void this.e2ee?.changed(groupId);
  }

  /** Removes a member (HTTP); with MLS this device then removes all of that user's leaves. */
  async removeMember(groupId: ConversationId, userId: UserId): Promise<void> {
    await this.api.removeMember(groupId, userId);
    void this.e2ee?.changed(groupId);
  }

  // ---- end-to-end encryption (MLS envelope only) ----

  /**
   * The safety number with a user: 60 digits from both users' device identity
   * keys, as the DM's group holds them; both sides compute the same number.
   */
  safetyNumber(userId: UserId): Promise<string> {
    return this.requireE2ee().safetyNumber(userId);
  }

  /** True when a member's identity keys changed in this conversation since first seen (until acknowledged). */
  identityWarning(conversationId: ConversationId): Promise<boolean> {
    return this.requireE2ee().identityWarning(conversationId);
  }

  /** Clears a conversation's identity warning (the user has re-verified). */
  acknowledgeIdentity(conversationId: ConversationId): Promise<void> {
    return this.requireE2ee().acknowledgeIdentity(conversationId);
  }

  /** The MLS group of a conversation as this device has it: epoch and member devices; null when it has none. */
  async groupState(conversationId: ConversationId): Promise<GroupState | null> {
    const group = await this.requireE2ee().groups.get(conversationId);
    if (!group) return null;
    return { epoch: group.epoch, active: group.active, members: group.members().map((m) => ({ userId: m.userId, deviceId: m.deviceId })) };
  }

  /** This user's devices (name, sign-in time, which is this one) with identity-key fingerprints when MLS is on. */
  async devices(): Promise<DeviceView[]> {
    return this.e2ee ? this.e2ee.ownDevices() : withFingerprints(await this.api.ownDevices(), new Map());
  }

  /** Revokes one of this user's devices (HTTP); with MLS this device then Commits its removal from every group. */
  async removeDevice(deviceId: DeviceId): Promise<void> {
    await this.api.removeDevice(deviceId);
    void this.e2ee?.deviceRemoved();
  }

  /** Runs the group repair pass now (it also runs after every catch-up and when a new own device asks). */
  repairGroups(): Promise<void> {
    return this.requireE2ee().repair();
  }

  private requireE2ee(): E2eeSession {
    if (!this.e2ee) throw new TidingsError(ErrorCode.InvalidArgument, 'end-to-end encryption needs the MLS envelope');
    return this.e2ee;
  }

  /**
   * Marks the conversation read up to `upto` (default: its newest stored
   * message). Clears unread here at once and, through the server, on the
   * user's other devices; senders see it as read unless either side has read
   * receipts off. Positions only move forward; works offline (acked on reconnect).
   */
  /** Tell the server this device has handled its inbox items up to `upto` (they are deleted there). */
  ackInbox(upto: bigint): boolean {
    return this.connection.send({ t: 'inbox_ack', upto });
  }

  markRead(conversationId: ConversationId, upto?: EntryId): Promise<void> {
    return this.receiptTracker.markRead(conversationId, upto);
  }

  /** Changes the user's privacy settings (HTTP); the `settings` event follows. */
  async updateSettings(patch: PrivacySettingsPatch): Promise<PrivacySettings> {
    const settings = await this.api.updateSettings(patch);
    this.privacy.apply(settings);
    return settings;
  }

  /**
   * Replaces the set of users whose presence this device follows (at most
   * MAX_WATCHED_USERS): DM peers, plus a group's members while the group is
   * open. Re-sent after every reconnect. The server ignores users who share no
   * conversation with the caller.
   */
  watchPresence(userIds: readonly UserId[]): void {
    this.presenceTracker.watch(userIds);
  }

  /**
   * Says whether the user is typing in a conversation. Call it on every
   * keystroke (active) and when they stop or send (inactive); frames are
   * throttled to TYPING_MIN_INTERVAL_MS and refreshed while typing continues.
   */
  setTyping(conversationId: ConversationId, active: boolean): void {
    this.typingTracker.set(conversationId, active);
  }

  // ---- queries (replica only) ----

  /** Every known conversation with its exact unread count. */
  async conversations(): Promise<ConversationWithUnread[]> {
    const all = await this.config.replica.conversations();
    return Promise.all(all.map(async (c) => ({ ...c, unread: await this.receiptTracker.unread(c.id) })));
  }

  /** Messages from others (Text, Media, Document) above the user's read position. */
  unreadCount(conversationId: ConversationId): Promise<number> {
    return this.receiptTracker.unread(conversationId);
  }

  /**
   * The newest `limit` messages before `before` (a Message.seq), oldest first
   * within the page. One's own messages carry their derived delivery state.
   */
  async messages(conversationId: ConversationId, page: PageRequest): Promise<Message[]> {
    return this.crdt.decorate(await this.receiptTracker.decorate(await this.config.replica.messages(conversationId, page)));
  }

  /** Each other member's receipt positions and the state of message `messageId` for them. */
  receiptDetail(conversationId: ConversationId, messageId: EntryId): Promise<MemberReceipt[]> {
    return this.receiptTracker.detail(conversationId, messageId);
  }

  // ---- ephemeral state (memory only) ----

  /** The user's privacy settings as last reported by the server; null before the first report. */
  settings(): PrivacySettings | null {
    return this.privacy.get();
  }

  /** A watched user's presence; status Unknown when not known (not watched, or disconnected). */
  presence(userId: UserId): PresenceItem {
    return this.presenceTracker.get(userId);
  }

  /** Who (other than the user) is typing in a conversation now. */
  typing(conversationId: ConversationId): UserId[] {
    return this.typingTracker.typing(conversationId);
  }

  /** Resolves once the outbox is empty, no frame is being handled and no gap is being repaired. */
  whenIdle(timeoutMs = 10_000): Promise<void> {
    return this.idle.wait(timeoutMs);
  }

  // ---- internals ----

  private async isIdle(): Promise<boolean> {
    await this.work;
    await this.pages.drain();
    if (!this.chain.settled()) return false;
    if (this.e2ee && !this.e2ee.idle()) return false;
    return (await this.config.replica.pending()).length === 0;
  }

  /** The socket is gone (lost, refused or stopped): nothing ephemeral is current any more. */
  private disconnected(): void {
    this.session += 1;
    this.welcomed = false;
    this.sender.reset();
    this.acks.reset();
    this.presenceTracker.lost();
    this.typingTracker.reset();
    this.setState(ConnectionState.Offline);
  }

  private setState(next: ConnectionState): void {
    if (next === this.state) return;
    this.state = next;
    this.events.emit('status', next);
  }

  /** Monotonic local time, so pending messages keep their send order. */
  private localTime(): number {
    this.lastLocalTime = Math.max(this.config.clock.now(), this.lastLocalTime + 1);
    return this.lastLocalTime;
  }

  /** Runs a task on the serial queue whatever the socket (E2EE state changes); resolves with its result. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.work.then(async () => {
      await this.pages.drain();
      return task();
    });
    this.work = run.then(
      () => this.idle.poke(),
      () => this.idle.poke(),
    );
    return run;
  }

  /**
   * Queues one outbox flush unless one is already queued and not yet started:
   * a burst of sends costs one pass over the outbox, not one pass per send
   * (each pass reads every pending item).
   */
  private requestFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // The flag is cleared by a step that always runs: the flush itself is skipped when its session has
    // ended by then, and a flag cleared only inside it stayed set, ignoring every later request.
    this.work = this.work.then(() => {
      this.flushQueued = false;
    });
    this.enqueue(this.session, () => this.flushOutbox());
  }

  /** `overlaps`: the task may run while catch-up pages are in flight (a catch-up page itself); every other task waits for them. */
  private enqueue(session: number, task: () => Promise<void>, overlaps = false): void {
    this.work = this.work.then(async () => {
      if (session !== this.session) return;
      try {
        if (!overlaps) await this.pages.drain();
        await task();
      } catch (error) {
        this.failed(session, error);
      }
      this.idle.poke();
    });
  }

  /** Local failure while handling a frame (e.g. storage): start over from the durable cursor. */
  private failed(session: number, error: unknown): void {
    this.config.logger.error('sync failure; reconnecting', { error: String(error) });
    const tidingsError = error instanceof TidingsError ? error : new TidingsError(ErrorCode.Internal, String(error));
    this.events.emit('error', tidingsError);
    if (session === this.session) this.connection.drop(4900, 'local failure');
  }

  /** The state sink without this device's own updates (as the MLS reader does it). */
  private readonly othersState: StateSink = {
    received: (conversationId, entry, data) =>
      entry.senderDeviceId === this.config.credentials.deviceId ? Promise.resolve() : this.stateSink.received(conversationId, entry, data),
    batch: (conversationId, open) => inBatch(this.stateSink, conversationId, open),
  };

  private async hello(): Promise<void> {
    const cursor = await this.config.replica.cursor();
    this.chain.reset(cursor);
    const items = [...cursor].map(([conversationId, upto]) => ({ conversationId, upto }));
    this.connection.send({ t: 'hello', token: this.config.credentials.token, cursor: items });
  }

  private async flushOutbox(): Promise<void> {
    if (!this.welcomed) return;
    const e2ee = this.e2ee;
    if (!e2ee) {
      await this.sender.flush((frame) => this.connection.send(frame));
      return;
    }
    await this.sender.flush(
      (frame) => this.connection.send(frame),
      (item) => e2ee.prepare(item),
      async (item, failure) => {
        const failed = await this.config.replica.markFailed(this.config.credentials.deviceId, item.clientMsgId, failure);
        if (failed) this.events.emit('message', failed);
      },
    );
  }

  private async handle(frame: ServerFrame): Promise<void> {
    const { replica, credentials, logger } = this.config;
    switch (frame.t) {
      case 'welcome':
        if (frame.userId !== credentials.userId || frame.deviceId !== credentials.deviceId) {
          logger.warn('welcome names another account or device', { userId: String(frame.userId), deviceId: String(frame.deviceId) });
        }
        this.welcomed = true;
        this.connection.welcomed();
        this.setState(ConnectionState.Syncing);
        this.acks.flush();
        this.presenceTracker.welcomed();
        this.e2ee?.welcomed();
        this.media.drainUploads(); // files sent while offline, also those left from before a restart
        await this.flushOutbox();
        return;
      case 'conversation':
        this.receiptTracker.membersChanged(frame.conversation.id);
        this.events.emit('conversation', await replica.upsertConversation(frame.conversation));
        this.e2ee?.conversationChanged(frame.conversation.id);
        return;
      case 'entries':
        await this.entries(frame.conversationId, frame.entries, frame.live);
        return;
      case 'synced':
        this.synced = true;
        for (const pull of this.chain.stalledPulls()) this.connection.send({ t: 'pull', ...pull });
        this.acks.flush();
        this.setState(ConnectionState.Online);
        this.events.emit('synced', undefined);
        await this.e2ee?.synced();
        return;
      case 'sent': {
        this.sender.settled(frame.clientMsgId);
        this.e2ee?.sent(frame.clientMsgId);
        const message = await replica.markSent(credentials.deviceId, frame.clientMsgId, frame.id, frame.createdAt);
        if (message) for (const m of await this.receiptTracker.decorate([message])) this.events.emit('message', m);
        return;
      }
      case 'receipts':
        await this.receiptTracker.received(frame.conversationId, frame.items);
        return;
      case 'settings':
        this.privacy.apply(frame);
        return;
      case 'presence':
        this.presenceTracker.received(frame.items);
        return;
      case 'typing':
        this.typingTracker.received(frame.conversationId, frame.userId, frame.active);
        return;
      case 'error':
        await this.serverError(frame.code, frame.message, frame.ref);
        return;
      case 'pong':
        return;
      case 'inbox':
        this.events.emit('inbox', frame.items);
        await this.e2ee?.inbox(frame.items);
        return;
      case 'key_packages_low':
        this.events.emit('keyPackagesLow', frame.stock);
        void this.e2ee?.ensureStock();
        return;
      default: {
        const never: never = frame;
        throw new TidingsError(ErrorCode.InvalidFrame, `unhandled frame ${(never as { t: string }).t}`);
      }
    }
  }

  private async entries(conversationId: ConversationId, entries: readonly Entry[], live: boolean): Promise<void> {
    let apply: Entry[];
    if (live) {
      const decision = this.chain.live(conversationId, entries, this.synced);
      apply = decision.apply;
      if (decision.pull) this.connection.send({ t: 'pull', ...decision.pull });
    } else {
      apply = this.chain.catchUp(conversationId, entries);
    }
    if (apply.length === 0) return;
    if (!live && this.e2ee && apply.every((entry) => isMessageType(entry.type))) {
      // Messages only: nothing in the page changes another conversation, so it may overlap the next one.
      const session = this.session;
      await this.pages.admit(conversationId);
      this.pages.start(conversationId, () => this.store(conversationId, apply), (error) => this.failed(session, error));
      return;
    }
    await this.pages.drain();
    await this.store(conversationId, apply);
  }

  /** Opens entries the chain handed out and stores them; with MLS, split at Commits (see partsAtCommits). */
  private async store(conversationId: ConversationId, apply: readonly Entry[]): Promise<void> {
    for (const part of this.e2ee ? partsAtCommits(apply) : [apply]) await this.storePart(conversationId, part);
  }

  /** Opens entries, stores them in one transaction with the group states they left, then acks them and tells the app. */
  private async storePart(conversationId: ConversationId, apply: readonly Entry[]): Promise<void> {
    const page = this.e2ee ? await this.e2ee.open(conversationId, apply) : { entries: await openEntries(this.config.envelope, apply, this.othersState), groups: [] };
    let changed: Message[];
    try {
      changed = await this.config.replica.applyEntries(conversationId, page.entries, page.groups);
    } catch (error) {
      this.e2ee?.unstored(page.groups); // the ratchet steps were not stored either: the entries open again next time
      throw error;
    }
    // The transaction has committed: only now may the server hear these are delivered.
    await this.receiptTracker.stored(conversationId, apply[apply.length - 1]!.id, changed);
    for (const message of await this.receiptTracker.decorate(changed)) {
      this.sender.settled(message.clientMsgId);
      this.events.emit('message', message);
    }
  }

  private async serverError(code: ErrorCode, message: string, ref: string): Promise<void> {
    const error = new TidingsError(code, message);
    if (ref === '') {
      this.config.logger.warn('server error', { code, message });
      this.events.emit('error', error);
      return;
    }
    const item = this.e2ee ? (await this.config.replica.pending()).find((i) => i.clientMsgId === ref) : undefined;
    if (item && (await this.e2ee!.sendFailed(item, code))) {
      this.sender.settled(ref);
      this.config.logger.info('send will be resealed', { clientMsgId: ref, code });
      await this.flushOutbox();
      return;
    }
    if (error.retryable) {
      this.config.logger.info('send will be retried', { clientMsgId: ref, code });
      await this.sender.retryLater(ref);
      return;
    }
    this.sender.settled(ref);
    const failed = await this.config.replica.markFailed(this.config.credentials.deviceId, ref, { code, message });
    if (failed) this.events.emit('message', failed);
    this.events.emit('error', error);
  }
}
