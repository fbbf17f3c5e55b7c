/**
 * EngineHost: the one engine of an origin. It owns the session (credentials in
 * IndexedDB), the TidingsClient with its Dexie replica and socket, and fans
 * the engine's events out to every subscribed view in batches. It runs in the
 * SharedWorker, or in the leader's dedicated worker where SharedWorker is missing.
 */
import type { ConversationId, DeviceId, EntryId, PresenceItem, UserId } from '@tidings/shared';
import {
  BrowserWebSocketTransport,
  ConnectionState,
  DexieReplica,
  HttpApi,
  TidingsClient,
  type Conversation,
  type Credentials,
  type Envelope,
  type PrivacySettings,
} from '@tidings/client';
import type { MediaDescriptor } from '@tidings/client/media';
import type {
  ChatAction,
  ChatSummary,
  ConversationAction,
  ConversationStateView,
  DeviceView,
  EngineApi,
  EngineEvent,
  EngineListener,
  MessageAction,
  MessageVersion,
  MessageView,
  PushPreview,
  PushSubscriptionData,
  ReceiptView,
  SessionInfo,
} from './api.js';
import { AppStore, type StoredSession } from './app-store.js';
import { DraftSync } from './drafts.js';
import { listOrder, summarize, toView } from './views.js';
import { MediaService } from './media.js';
import { seedHistory } from './seed.js';
import { registerPushSubscription } from './server-calls.js';
import { applyChatAction, applyConversationAction, applyMessageAction, conversationState, editHistory, refreshMessages } from './state-calls.js';

export interface HostOptions {
  /** Base URL of the sync server: the origin the app was served from. */
  readonly serverUrl: string;
  /** Makes the envelope for a signed-in device. Injected so MLS can replace the placeholder. */
  readonly envelope: (credentials: Credentials, store: AppStore) => Envelope | Promise<Envelope>;
  /** Device name sent on sign-in. */
  readonly deviceName: string;
}

/** Most users whose presence one device may watch (the server's MAX_WATCHED_USERS is the hard cap). */
const WATCH_LIMIT = 256;
/** Longest a push waits for the engine to be synced before it shows what the replica has, ms. */
const PUSH_SYNC_WAIT_MS = 4000;

interface Running {
  readonly session: StoredSession;
  readonly client: TidingsClient;
  readonly replica: DexieReplica;
  readonly media: MediaService;
  readonly drafts: DraftSync;
  readonly offs: (() => void)[];
}


export class EngineHost implements EngineApi {
  private readonly store: Promise<AppStore>;
  private readonly ready: Promise<void>;
  private running: Running | null = null;
  private readonly listeners = new Map<number, EngineListener>();
  private nextListener = 1;
  private queue: EngineEvent[] = [];
  private flushing = false;
  private readonly focused = new Map<string, ConversationId>();
  private watched = '';

  constructor(private readonly options: HostOptions) {
    this.store = AppStore.open();
    this.ready = this.store.then(async (store) => {
      const session = await store.session();
      if (session) await this.start(session);
    });
  }

  // ---- subscriptions ----

  subscribe(listener: EngineListener): Promise<number> {
    const id = this.nextListener++;
    this.listeners.set(id, listener);
    return Promise.resolve(id);
  }

  unsubscribe(id: number): Promise<void> {
    this.listeners.delete(id);
    return Promise.resolve();
  }

  private emit(event: EngineEvent): void {
    this.queue.push(event);
    if (this.flushing) return;
    this.flushing = true;
    // One batch per task: a catch-up of thousands of entries is a few posts, not thousands.
    setTimeout(() => {
      this.flushing = false;
      const batch = this.queue;
      this.queue = [];
      for (const listener of this.listeners.values()) {
        try {
          listener(batch);
        } catch {
          // A closed view's proxy may throw; it unsubscribes on pagehide.
        }
      }
    }, 0);
  }

  // ---- session ----

  async session(): Promise<SessionInfo | null> {
    await this.ready;
    return this.running ? info(this.running.session) : null;
  }

  async register(username: string, password: string): Promise<SessionInfo> {
    const credentials = await this.anonymousApi().register(username, password, this.options.deviceName);
    return this.signedIn({ credentials, username });
  }

  async login(username: string, password: string): Promise<SessionInfo> {
    const credentials = await this.anonymousApi().login(username, password, this.options.deviceName);
    return this.signedIn({ credentials, username });
  }

  async logout(): Promise<void> {
    await this.ready;
    const running = this.running;
    if (!running) return;
    await this.stop();
    const store = await this.store;
    await store.clearSession();
    indexedDB.deleteDatabase(replicaName(running.session.credentials));
    this.emit({ type: 'session', session: null });
  }

  private async signedIn(session: StoredSession): Promise<SessionInfo> {
    await this.ready;
    await this.stop();
    const store = await this.store;
    await store.saveSession(session);
    await store.saveNames(new Map([[session.credentials.userId, session.username]]));
    await this.start(session);
    const result = info(session);
    this.emit({ type: 'session', session: result });
    return result;
  }

  private anonymousApi(): HttpApi {
    return new HttpApi({ serverUrl: this.options.serverUrl });
  }

  private async start(session: StoredSession): Promise<void> {
    const { credentials } = session;
    const replica = await DexieReplica.open({ name: replicaName(credentials), indexedDB, IDBKeyRange });
    const client = new TidingsClient({
      serverUrl: this.options.serverUrl,
      credentials,
      replica,
      transport: new BrowserWebSocketTransport(),
      envelope: await this.options.envelope(credentials, await this.store),
    });
    const offs = [
      client.on('status', (status) => this.emit({ type: 'status', status })),
      client.on('message', (message) => {
        this.emit({ type: 'message', message: toView(message) });
        this.emit({ type: 'chats' });
      }),
      client.on('receipts', (change) => {
        void this.receipts(change.conversationId).then((receipts) =>
          this.emit({ type: 'receipts', conversationId: change.conversationId, receipts }),
        );
      }),
      client.on('unread', () => this.emit({ type: 'chats' })),
      client.on('state', ({ conversationId, removed }) => {
        this.emit({ type: 'state', conversationId, removed });
        this.emit({ type: 'chats' }); // the row's last-message preview may have been edited or deleted
      }),
      client.on('conversation', () => {
        this.emit({ type: 'chats' });
        void this.rewatch();
      }),
      client.on('presence', (items) => this.emit({ type: 'presence', items })),
      client.on('typing', ({ conversationId, userIds }) => this.emit({ type: 'typing', conversationId, userIds })),
      client.on('settings', (settings) => this.emit({ type: 'settings', settings })),
      client.on('identityChanged', ({ conversationId, userId }) => this.emit({ type: 'identity', conversationId, userId })),
      client.on('error', (error) => this.emit({ type: 'error', message: error.message })),
    ];
    const media = new MediaService(client);
    const drafts = new DraftSync(await this.store, client.crdt);
    this.running = { session, client, replica, media, drafts, offs };
    client.start();
    void this.rewatch();
  }

  private async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    this.running = null;
    for (const off of running.offs) off();
    await running.drafts.flush();
    await running.client.stop();
    await running.replica.close();
    this.watched = '';
    this.emit({ type: 'status', status: ConnectionState.Offline });
  }

  private async engine(): Promise<Running> {
    await this.ready;
    if (!this.running) throw new Error('not signed in');
    return this.running;
  }

  private api(running: Running): HttpApi {
    return new HttpApi({ serverUrl: this.options.serverUrl, token: running.session.credentials.token });
  }

  // ---- connection ----

  async status(): Promise<ConnectionState> {
    await this.ready;
    return this.running?.client.status ?? ConnectionState.Offline;
  }

  async nudge(): Promise<void> {
    await this.ready;
    const running = this.running;
    if (!running || running.client.status !== ConnectionState.Offline) return;
    // TODO(@tidings/client): a `reconnectNow()` would skip the backoff without a stop/start.
    await running.client.stop();
    if (this.running === running) running.client.start();
  }

  // ---- chats and messages ----

  async chats(): Promise<ChatSummary[]> {
    const running = await this.engine();
    const all = (await running.client.conversations()).filter((c) => c.kind !== 'self');
    const summaries = await Promise.all(all.map((c) => this.summary(running, c, c.unread)));
    return summaries.sort(listOrder);
  }

  async chat(id: ConversationId): Promise<ChatSummary | null> {
    const running = await this.engine();
    const c = await running.replica.conversation(id);
    return c ? this.summary(running, c, await running.client.unreadCount(id)) : null;
  }

  private async summary(running: Running, c: Conversation, unread: number): Promise<ChatSummary> {
    const store = await this.store;
    return summarize(running.client, running.session.credentials.userId, c, unread, (ids) => store.names(ids));
  }


  async messages(id: ConversationId, limit: number, before?: string): Promise<MessageView[]> {
    const running = await this.engine();
    const page = before === undefined ? { limit } : { limit, before };
    return (await running.client.messages(id, page)).map(toView);
  }

  async receipts(id: ConversationId): Promise<ReceiptView> {
    const running = await this.engine();
    const detail = await running.client.receiptDetail(id, 0n as EntryId);
    let delivered: bigint | null = null;
    let read: bigint | null = null;
    for (const m of detail) {
      delivered = delivered === null || m.delivered < delivered ? m.delivered : delivered;
      read = read === null || m.read < read ? m.read : read;
    }
    return { delivered, read };
  }

  async sendText(id: ConversationId, text: string, replyToUid?: string): Promise<MessageView> {
    const running = await this.engine();
    const quoted = replyToUid === undefined ? null : await running.replica.message(replyToUid);
    const message = await running.client.sendText(id, text, quoted === null ? {} : { replyTo: quoted });
    running.client.setTyping(id, false);
    await running.drafts.save(id, '');
    return toView(message);
  }

  async sendFile(id: ConversationId, file: Blob, fileName: string, caption: string): Promise<MessageView> {
    const running = await this.engine();
    return toView(await running.media.send(id, file, fileName, caption));
  }

  async media(descriptor: MediaDescriptor): Promise<Blob> {
    return (await this.engine()).media.open(descriptor);
  }

  async markRead(id: ConversationId): Promise<void> {
    const running = await this.engine();
    await running.client.markRead(id);
  }

  async messageAction(id: ConversationId, uid: string, action: MessageAction): Promise<void> {
    await applyMessageAction((await this.engine()).client, id, uid, action);
  }

  async chatAction(id: ConversationId, action: ChatAction): Promise<void> {
    await applyChatAction((await this.engine()).client, id, action);
  }

  async conversationAction(id: ConversationId, action: ConversationAction): Promise<void> {
    await applyConversationAction((await this.engine()).client, id, action);
  }

  async conversationState(id: ConversationId): Promise<ConversationStateView> {
    const running = await this.engine();
    return conversationState(running.client, running.replica, id);
  }

  async editHistory(id: ConversationId, uid: string): Promise<MessageVersion[]> {
    const running = await this.engine();
    return editHistory(running.client, running.replica, id, uid);
  }

  async refreshMessages(id: ConversationId, uids: readonly string[]): Promise<MessageView[]> {
    const running = await this.engine();
    return refreshMessages(running.client, running.replica, id, uids);
  }

  /** This device's draft, else the one another device of the user left in the account document (drafts.ts). */
  async draft(id: ConversationId): Promise<string> {
    await this.ready;
    return this.running ? this.running.drafts.load(id) : (await this.store).draft(id);
  }

  /** Saves the draft here at once, and in the account document after a pause (drafts.ts). */
  async saveDraft(id: ConversationId, text: string): Promise<void> {
    await this.ready;
    await (this.running ? this.running.drafts.save(id, text) : (await this.store).saveDraft(id, text));
  }

  // ---- people and membership ----

  async findUser(username: string): Promise<{ userId: UserId; username: string }> {
    const running = await this.engine();
    const user = await this.api(running).user(username.trim());
    await this.learn(new Map([[user.userId, user.username]]));
    return user;
  }

  async names(userIds: readonly UserId[]): Promise<Map<UserId, string>> {
    return (await this.store).names(userIds);
  }

  private async learn(names: ReadonlyMap<UserId, string>): Promise<void> {
    await (await this.store).saveNames(names);
    this.emit({ type: 'names', names });
    this.emit({ type: 'chats' });
  }

  async openDm(username: string): Promise<ConversationId> {
    const running = await this.engine();
    const user = await this.findUser(username);
    const id = await running.client.openDm(user.userId);
    return id;
  }

  async createGroup(name: string, usernames: readonly string[]): Promise<ConversationId> {
    const running = await this.engine();
    const users = await Promise.all(usernames.map((u) => this.findUser(u)));
    return running.client.createGroup(
      name,
      users.map((u) => u.userId),
    );
  }

  async addMembers(id: ConversationId, usernames: readonly string[]): Promise<void> {
    const running = await this.engine();
    const users = await Promise.all(usernames.map((u) => this.findUser(u)));
    await running.client.addMembers(
      id,
      users.map((u) => u.userId),
    );
  }

  async removeMember(id: ConversationId, userId: UserId): Promise<void> {
    const running = await this.engine();
    await running.client.removeMember(id, userId);
  }

  // ---- presence, typing, settings ----

  async focus(viewId: string, id: ConversationId | null): Promise<void> {
    if (id === null) this.focused.delete(viewId);
    else this.focused.set(viewId, id);
    await this.rewatch();
  }

  /** Watches DM peers, plus the members of groups some view has open. */
  private async rewatch(): Promise<void> {
    await this.ready;
    const running = this.running;
    if (!running) return;
    const self = running.session.credentials.userId;
    const open = new Set(this.focused.values());
    const users = new Set<UserId>();
    for (const c of await running.replica.conversations()) {
      if (c.left || (c.kind !== 'dm' && !open.has(c.id))) continue;
      for (const m of c.members) if (m !== self) users.add(m);
    }
    const list = [...users].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, WATCH_LIMIT);
    const key = list.join(',');
    if (key === this.watched || this.running !== running) return;
    this.watched = key;
    running.client.watchPresence(list);
  }

  async presence(userIds: readonly UserId[]): Promise<PresenceItem[]> {
    const running = await this.engine();
    return userIds.map((id) => running.client.presence(id));
  }

  async typing(id: ConversationId): Promise<UserId[]> {
    return (await this.engine()).client.typing(id);
  }

  async setTyping(id: ConversationId, active: boolean): Promise<void> {
    (await this.engine()).client.setTyping(id, active);
  }

  async settings(): Promise<PrivacySettings | null> {
    return (await this.engine()).client.settings();
  }

  async updateSettings(patch: Partial<PrivacySettings>): Promise<PrivacySettings> {
    return (await this.engine()).client.updateSettings(patch);
  }

  // ---- devices and verification ----

  async devices(): Promise<DeviceView[]> {
    return (await this.engine()).client.devices();
  }

  async removeDevice(deviceId: DeviceId): Promise<void> {
    const running = await this.engine();
    if (deviceId === running.session.credentials.deviceId) throw new Error('this device signs out instead');
    await running.client.removeDevice(deviceId);
  }

  async safetyNumber(userId: UserId): Promise<string> {
    return (await this.engine()).client.safetyNumber(userId);
  }

  async identityWarning(id: ConversationId): Promise<boolean> {
    return (await this.engine()).client.identityWarning(id);
  }

  async acknowledgeIdentity(id: ConversationId): Promise<void> {
    await (await this.engine()).client.acknowledgeIdentity(id);
    this.emit({ type: 'chats' });
  }

  // ---- test hooks (test builds only) ----

  async seedHistory(id: ConversationId, count: number, days: number): Promise<number> {
    if (!__TIDINGS_TEST_HOOKS__) throw new Error('test hooks are not in this build');
    const running = await this.engine();
    const { userId, deviceId } = running.session.credentials;
    const stored = await seedHistory(replicaName(running.session.credentials), id, { userId, deviceId }, count, days, Date.now());
    this.emit({ type: 'chats' });
    return stored;
  }

  // ---- push ----

  async registerPush(subscription: PushSubscriptionData): Promise<void> {
    await registerPushSubscription(this.options.serverUrl, (await this.engine()).session.credentials.token, subscription);
  }

  async pushPreview(id: ConversationId): Promise<PushPreview | null> {
    const running = await this.engine();
    // Sync first: reconnect now if offline, and give the catch-up a moment to bring the new messages in.
    await this.nudge();
    const deadline = Date.now() + PUSH_SYNC_WAIT_MS;
    while (running.client.status !== ConnectionState.Online && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const chat = await this.chat(id);
    const [last] = await running.client.messages(id, { limit: 1 });
    if (!chat || !last || last.content.kind !== 'text') return null;
    return { title: chat.title, text: last.content.text };
  }
}

const info = (s: StoredSession): SessionInfo => ({ userId: s.credentials.userId, deviceId: s.credentials.deviceId, username: s.username });
const replicaName = (c: Credentials): string => `tidings-${c.userId.toString()}-${c.deviceId.toString()}`;
