/**
 * @tidings/client: the embeddable client library. Browser-safe: the Node
 * transport and in-memory replica live in `@tidings/client/node`.
 */
export { TidingsClient, type GroupState } from './sync/client.js';
export type { TidingsClientConfig } from './sync/config.js';
export { DEFAULT_ACK_DELAY_MS, DEFAULT_ACK_MAX_DELAY_MS, DEFAULT_HEARTBEAT_MS, socketUrl } from './sync/config.js';
export type { TidingsEvents } from './sync/events.js';
export { ConnectionState } from './sync/status.js';
export { Backoff, jitteredDelay, DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, type BackoffOptions } from './sync/backoff.js';
export { ChainTracker, type PullRequest } from './sync/chain.js';

export { HttpApi, type Credentials, type UserInfo, type ConversationSummary, type HttpApiOptions, type OwnDevice } from './api/http-api.js';
export type { DeviceView } from './e2ee-engine/devices.js';

export type { OutgoingFile, SendFileOptions, SentFile } from './media/send-file.js';
export type { MediaDescriptor, MediaPreview } from './media/descriptor.js';
export type { Envelope, Content } from './envelope/envelope.js';
export { MAX_CAPTION_CHARS, encodeContent, decodeContent } from './envelope/content.js';
export { UnencryptedEnvelope } from './envelope/unencrypted.js';
export { MlsEnvelope, DEFAULT_KEY_PACKAGE_TARGET, type MlsEnvelopeOptions } from './e2ee-engine/mls-envelope.js';
export { DEFAULT_SUITE, SUPPORTED_SUITES, parseSuiteName, type SuiteName } from './e2ee/suite.js';
export { Unreadable } from './e2ee-engine/log-reader.js';
export type { KeyStore } from './keys/key-store.js';
export type { E2eeJournal, PeerKeys } from './keys/journal.js';

export type { Replica, ConversationStore, MessageStore, ReceiptStore, Outbox, OutboxItem, OpenedEntry, PageRequest } from './replica/replica.js';
export { DexieReplica, type DexieReplicaOptions } from './replica/dexie-replica.js';

export type { Transport, TransportSocket } from './transport/transport.js';
export { BrowserWebSocketTransport } from './transport/browser.js';

export {
  MessageState,
  isCountable,
  messageUid,
  replyRef,
  MAX_REPLY_EXCERPT_CHARS,
  type ReplyRef,
  committedSeq,
  pendingSeq,
  type Message,
  type MessageContent,
  type StoredMessageState,
} from './model/message.js';
export type { Conversation, ConversationKindName, ConversationWithUnread } from './model/conversation.js';
export type { MemberDeliveryState, MemberReceipt, ReceiptsChange, UnreadChange } from './model/receipt.js';
export type { PrivacySettings, PrivacySettingsPatch } from './model/settings.js';
export type { ActRecord, EditRecord, MessageAnnotations } from './model/annotations.js';
export type { ClientState } from './state/client-state.js';
export type { ChatPrefs } from './state/account-state.js';
export type { DisappearingTimer, GroupProfile } from './state/conversation-state.js';
export type { DocStore, MessageEraser, StoredDoc } from './state/ports.js';
export * as stateLimits from './state/limits.js';
export { deliveryState, memberReceipts, summarize, type ReceiptInputs, type ReceiptSummary } from './receipts/delivery.js';
export { parseSystemEvent, type SystemEvent } from './model/system-event.js';

export { systemClock, type Clock, type TimerHandle } from './runtime/clock.js';
export { silentLogger, type Logger, type LogFields } from './runtime/logger.js';
export { randomClientMsgId } from './runtime/ids.js';
