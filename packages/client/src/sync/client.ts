/**
 * TidingsClient: the sync engine. It keeps the replica in step with the server
 * over one connection (vector-cursor catch-up, live entries with gap repair),
 * flushes the outbox, and exposes queries that read only the replica.
 */
import {
  CloseCode,
  EntryType,
  ErrorCode,
  MAX_BODY_BYTES,
  TidingsError,
  type ConversationId,
  type Entry,
  type ServerFrame,
  type UserId,
} from '@tidings/shared';
import { HttpApi } from '../api/http-api.js';
import { Emitter, type Listener } from '../events/emitter.js';
import type { Conversation } from '../model/conversation.js';
import { messageUid, pendingSeq, type Message } from '../model/message.js';
import type { PageRequest } from '../replica/replica.js';
import { jitteredDelay } from './backoff.js';
import { ChainTracker } from './chain.js';
import { resolveConfig, type ResolvedConfig, type TidingsClientConfig } from './config.js';
import { Connection } from './connection.js';
import type { TidingsEvents } from './events.js';
import { IdleWaiters } from './idle.js';
import { openEntries } from './open-entries.js';
import { OutboxSender } from './outbox-sender.js';
import { ConnectionState } from './status.js';

export class TidingsClient {
  private readonly config: ResolvedConfig;
  private readonly events: Emitter<TidingsEvents>;
  private readonly connection: Connection;
  private readonly chain = new ChainTracker();
  private readonly sender: OutboxSender;
  private readonly idle: IdleWaiters;
  private readonly api: HttpApi;
  private state: ConnectionState = ConnectionState.Offline;
  /** Bumped for every socket; queued work for an older socket is skipped. */
  private session = 0;
  private welcomed = false;
  private synced = false;
  /** Serial queue: frames are handled one at a time, in arrival order. */
  private work: Promise<void> = Promise.resolve();
  private lastLocalTime = 0;

  constructor(config: TidingsClientConfig) {
    this.config = resolveConfig(config);
    const { logger, clock, random, backoff } = this.config;
    this.events = new Emitter((event, error) => logger.error('event listener threw', { event, error: String(error) }));
    this.api = new HttpApi({ serverUrl: config.serverUrl, token: config.credentials.token, ...(config.fetch ? { fetch: config.fetch } : {}) });
    this.sender = new OutboxSender(
      config.replica,
      clock,
      (attempts) => jitteredDelay(attempts, backoff, random),
      () => this.enqueue(this.session, () => this.flushOutbox()),
    );
    this.idle = new IdleWaiters(clock, () => this.isIdle());
    this.connection = new Connection(this.config, {
      connecting: () => {
        this.session += 1;
        this.welcomed = false;
        this.synced = false;
        this.sender.reset();
        this.setState(ConnectionState.Connecting);
      },
      opened: () => this.enqueue(this.session, () => this.hello()),
      frame: (frame) => this.enqueue(this.session, () => this.handle(frame)),
      lost: (code, reason, delayMs) => {
        logger.info('connection lost', { code, reason, reconnectInMs: delayMs });
        this.session += 1;
        this.sender.reset();
        this.setState(ConnectionState.Offline);
      },
      refused: (code, reason) => {
        this.session += 1;
        this.sender.reset();
        this.setState(ConnectionState.Offline);
        const errorCode = code === CloseCode.DeviceRevoked ? ErrorCode.Forbidden : ErrorCode.Unauthenticated;
        this.events.emit('error', new TidingsError(errorCode, reason || `connection refused (${code})`));
      },
    });
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
  }

  /** Disconnects and waits for in-flight work to finish. The replica stays open (the caller owns it). */
  async stop(): Promise<void> {
    this.connection.stop();
    this.session += 1;
    this.sender.reset();
    this.setState(ConnectionState.Offline);
    await this.work;
  }

  // ---- commands ----

  /** Writes an optimistic message and its outbox item (works offline) and sends it when connected. */
  async sendText(conversationId: ConversationId, text: string): Promise<Message> {
    if (text.length === 0) throw new TidingsError(ErrorCode.InvalidArgument, 'message text is empty');
    const { credentials, envelope, replica } = this.config;
    const body = await envelope.seal(conversationId, { text });
    if (body.length > MAX_BODY_BYTES) throw new TidingsError(ErrorCode.PayloadTooLarge, `message is over ${MAX_BODY_BYTES} bytes`);
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
      type: EntryType.Text,
      body,
      content: { kind: 'text', text },
      createdAt,
      state: 'pending',
    };
    await replica.enqueue(message, { clientMsgId, conversationId, type: EntryType.Text, body, createdAt, attempts: 0 });
    this.events.emit('message', message);
    if (this.welcomed) this.enqueue(this.session, () => this.flushOutbox());
    return message;
  }

  /** Gets or creates the DM with a user (HTTP). */
  openDm(userId: UserId): Promise<ConversationId> {
    return this.api.openDm(userId);
  }

  /** Creates a group with these members plus the caller (HTTP); returns its conversation id. */
  createGroup(name: string, memberIds: readonly UserId[]): Promise<ConversationId> {
    return this.api.createGroup(name, memberIds);
  }

  addMembers(groupId: ConversationId, userIds: readonly UserId[]): Promise<void> {
    return this.api.addMembers(groupId, userIds);
  }

  removeMember(groupId: ConversationId, userId: UserId): Promise<void> {
    return this.api.removeMember(groupId, userId);
  }

  // ---- queries (replica only) ----

  conversations(): Promise<Conversation[]> {
    return this.config.replica.conversations();
  }

  /** The newest `limit` messages before `before` (a Message.seq), oldest first within the page. */
  messages(conversationId: ConversationId, page: PageRequest): Promise<Message[]> {
    return this.config.replica.messages(conversationId, page);
  }

  /** Resolves once the outbox is empty, no frame is being handled and no gap is being repaired. */
  whenIdle(timeoutMs = 10_000): Promise<void> {
    return this.idle.wait(timeoutMs);
  }

  // ---- internals ----

  private async isIdle(): Promise<boolean> {
    await this.work;
    if (!this.chain.settled()) return false;
    return (await this.config.replica.pending()).length === 0;
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

  private enqueue(session: number, task: () => Promise<void>): void {
    this.work = this.work.then(async () => {
      if (session !== this.session) return;
      try {
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

  private async hello(): Promise<void> {
    const cursor = await this.config.replica.cursor();
    this.chain.reset(cursor);
    const items = [...cursor].map(([conversationId, upto]) => ({ conversationId, upto }));
    this.connection.send({ t: 'hello', token: this.config.credentials.token, cursor: items });
  }

  private async flushOutbox(): Promise<void> {
    if (!this.welcomed) return;
    await this.sender.flush((frame) => this.connection.send(frame));
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
        await this.flushOutbox();
        return;
      case 'conversation':
        this.events.emit('conversation', await replica.upsertConversation(frame.conversation));
        return;
      case 'entries':
        await this.entries(frame.conversationId, frame.entries, frame.live);
        return;
      case 'synced':
        this.synced = true;
        for (const pull of this.chain.stalledPulls()) this.connection.send({ t: 'pull', ...pull });
        this.setState(ConnectionState.Online);
        this.events.emit('synced', undefined);
        return;
      case 'sent': {
        this.sender.settled(frame.clientMsgId);
        const message = await replica.markSent(credentials.deviceId, frame.clientMsgId, frame.id, frame.createdAt);
        if (message) this.events.emit('message', message);
        return;
      }
      case 'error':
        await this.serverError(frame.code, frame.message, frame.ref);
        return;
      case 'pong':
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
    const opened = await openEntries(this.config.envelope, apply);
    const changed = await this.config.replica.applyEntries(conversationId, opened);
    for (const message of changed) {
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
