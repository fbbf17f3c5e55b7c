/**
 * History for a newly linked device. The existing device that adds it to the
 * self conversation's group sends, as inbox items of kind History, the opened
 * content it has of every conversation (keyed by entry id), each item an MLS
 * application message of the SELF group, chunked under the inbox item limit.
 * The new device decrypts them once it has joined the self group, fills in
 * entries it could not open, and keeps the rest for entries still to arrive.
 */
import { type ConversationId, type DeviceId, type EntryId, type InboxItem } from '@tidings/shared';
import type { MlsGroup } from '../e2ee/group.js';
import type { MessageContent } from '../model/message.js';
import type { GroupCache } from './groups.js';
import type { E2eeHost } from './host.js';
import { decodePayload, encodePayload, type Payload } from './payload.js';

type HistoryPayload = Extract<Payload, { t: 'history' }>;

/** Plaintext budget per History item (the encrypted item must stay under 700 KiB). */
export const HISTORY_CHUNK_BYTES = 600 * 1024;
const PAGE = 1_000_000;

export class HistorySync {
  constructor(
    private readonly host: E2eeHost,
    private readonly groups: GroupCache,
  ) {}

  /** Sends everything this device can read to the given new own devices (`self` is the self group, just confirmed). */
  async send(self: MlsGroup, to: readonly DeviceId[]): Promise<void> {
    const { replica, api, logger } = this.host;
    const bodies: Uint8Array[] = [];
    for (const conversation of await replica.conversations()) {
      const items: { id: EntryId; content: MessageContent }[] = [];
      for (const m of await replica.messages(conversation.id, { limit: PAGE })) {
        if (m.id !== null && m.content.kind === 'text') items.push({ id: m.id, content: m.content });
      }
      for (const chunk of chunks(conversation.id, items)) bodies.push(await self.encrypt(chunk));
    }
    await this.groups.save(self);
    try {
      for (const body of bodies) await api.postInbox(to.map((deviceId) => ({ deviceId, kind: 'history' as const, body })));
    } catch (error) {
      logger.warn('history post failed', { error: String(error) });
    }
  }

  /** Applies one History item; false when it cannot be read yet (no self group): stop and keep it in the inbox. */
  async receive(item: InboxItem): Promise<boolean> {
    const { replica, credentials, logger } = this.host;
    if (item.senderUserId !== credentials.userId) return true; // history only comes from one's own devices
    const self = (await replica.conversations()).find((c) => c.kind === 'self');
    const group = self && (await this.groups.get(self.id));
    if (!group) return false;
    let decrypted;
    try {
      decrypted = await group.decrypt(item.body);
    } catch (error) {
      logger.warn('history item not usable', { error: String(error) });
      return true;
    }
    let history: HistoryPayload | null = null;
    try {
      const payload = decodePayload(decrypted.plaintext);
      const fromOwnDevice = decrypted.sender.userId === credentials.userId && decrypted.sender.deviceId === item.senderDeviceId;
      if (fromOwnDevice && payload.t === 'history') history = payload;
    } catch (error) {
      logger.warn('history item not usable', { error: String(error) });
    }
    // The ratchet step and what it opened in one transaction: its keys are gone once used. If the write fails,
    // the group goes back to its stored state and the error keeps the item in the inbox, to be opened again.
    let changed;
    try {
      changed = await replica.storeHistory(history, [{ conversationId: group.conversationId, bytes: group.serialize() }]);
    } catch (error) {
      this.groups.forget(group.conversationId);
      throw error;
    }
    for (const message of changed) this.host.messageChanged(message);
    return true;
  }
}

function* chunks(conversationId: ConversationId, items: readonly { id: EntryId; content: MessageContent }[]): Generator<Uint8Array> {
  let batch: { id: EntryId; content: MessageContent }[] = [];
  let size = 0;
  for (const item of items) {
    const cost = 64 + (item.content.kind === 'text' ? item.content.text.length * 3 : 256);
    if (batch.length > 0 && size + cost > HISTORY_CHUNK_BYTES) {
      yield encodePayload({ t: 'history', conversationId, items: batch });
      batch = [];
      size = 0;
    }
    batch.push(item);
    size += cost;
  }
  if (batch.length > 0) yield encodePayload({ t: 'history', conversationId, items: batch });
}
