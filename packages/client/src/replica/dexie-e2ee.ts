/**
 * The E2EE tables of the Dexie replica (schema version 3): the device
 * identity, KeyPackage secrets, serialized MLS groups, held entries, history
 * content for a new device, and peer identity keys. Implements the KeyStore
 * and E2eeJournal ports over tables the replica's database owns.
 */
import { Dexie, type Table } from 'dexie';
import {
  parseConversationId,
  parseDeviceId,
  parseEntryId,
  parseUserId,
  type ConversationId,
  type Entry,
  type EntryId,
  type EntryType,
} from '@tidings/shared';
import type { E2eeJournal, PeerKeys } from '../keys/journal.js';
import type { KeyStore } from '../keys/key-store.js';
import type { MessageContent } from '../model/message.js';
import { committedSeq } from '../model/message.js';
import { contentFromRow, type ContentRow } from './dexie-rows.js';

export interface SecretRow {
  key: string;
  bytes: Uint8Array;
}
export interface GroupRow {
  conversationId: string;
  bytes: Uint8Array;
}
export interface HeldRow {
  conversationId: string;
  /** committedSeq(id): sorts like the id. */
  seq: string;
  id: string;
  prevId: string;
  senderUserId: string;
  senderDeviceId: string;
  clientMsgId: string;
  type: EntryType;
  createdAt: number;
  body: Uint8Array;
}
export interface HistoryRow {
  conversationId: string;
  seq: string;
  content: ContentRow;
}
export interface PeerRow {
  conversationId: string;
  userId: string;
  keys: string[];
  changed: 0 | 1;
}

/** Stores of schema version 3 (added tables only: older data is kept as is). */
export const E2EE_STORES = {
  secrets: 'key',
  groups: 'conversationId',
  held: '[conversationId+seq]',
  history: '[conversationId+seq]',
  peers: '[conversationId+userId]',
} as const;

export interface E2eeTables {
  secrets: Table<SecretRow, string>;
  groups: Table<GroupRow, string>;
  held: Table<HeldRow, [string, string]>;
  history: Table<HistoryRow, [string, string]>;
  peers: Table<PeerRow, [string, string]>;
}

const IDENTITY_KEY = 'identity';
const kpKey = (ref: string): string => `kp:${ref}`;

const entryFromRow = (r: HeldRow): Entry => ({
  conversationId: parseConversationId(r.conversationId),
  id: parseEntryId(r.id),
  prevId: parseEntryId(r.prevId),
  senderUserId: parseUserId(r.senderUserId),
  senderDeviceId: parseDeviceId(r.senderDeviceId),
  clientMsgId: r.clientMsgId,
  type: r.type,
  createdAt: r.createdAt,
  body: r.body,
});

const range = (cid: string): [[string, unknown], [string, unknown]] => [
  [cid, Dexie.minKey],
  [cid, Dexie.maxKey],
];

export class DexieE2ee implements KeyStore, E2eeJournal {
  constructor(private readonly t: E2eeTables) {}

  async loadIdentity(): Promise<Uint8Array | null> {
    return (await this.t.secrets.get(IDENTITY_KEY))?.bytes ?? null;
  }

  async saveIdentity(bytes: Uint8Array): Promise<void> {
    await this.t.secrets.put({ key: IDENTITY_KEY, bytes });
  }

  async addKeyPackages(items: readonly { ref: string; secret: Uint8Array }[]): Promise<void> {
    await this.t.secrets.bulkPut(items.map((i) => ({ key: kpKey(i.ref), bytes: i.secret })));
  }

  async keyPackage(ref: string): Promise<Uint8Array | undefined> {
    return (await this.t.secrets.get(kpKey(ref)))?.bytes;
  }

  async deleteKeyPackage(ref: string): Promise<void> {
    await this.t.secrets.delete(kpKey(ref));
  }

  async loadGroup(conversationId: ConversationId): Promise<Uint8Array | null> {
    return (await this.t.groups.get(String(conversationId)))?.bytes ?? null;
  }

  async saveGroup(conversationId: ConversationId, bytes: Uint8Array | null): Promise<void> {
    if (bytes === null) await this.t.groups.delete(String(conversationId));
    else await this.t.groups.put({ conversationId: String(conversationId), bytes });
  }

  async hold(e: Entry): Promise<void> {
    await this.t.held.put({
      conversationId: String(e.conversationId),
      seq: committedSeq(e.id),
      id: String(e.id),
      prevId: String(e.prevId),
      senderUserId: String(e.senderUserId),
      senderDeviceId: String(e.senderDeviceId),
      clientMsgId: e.clientMsgId,
      type: e.type,
      createdAt: e.createdAt,
      body: e.body,
    });
  }

  async held(conversationId: ConversationId): Promise<Entry[]> {
    const [lo, hi] = range(String(conversationId));
    return (await this.t.held.where('[conversationId+seq]').between(lo, hi).toArray()).map(entryFromRow);
  }

  async heldConversations(): Promise<ConversationId[]> {
    const keys = await this.t.held.toCollection().primaryKeys();
    return [...new Set(keys.map(([conversationId]) => conversationId))].map(parseConversationId);
  }

  async hasHeldCommit(conversationId: ConversationId): Promise<boolean> {
    // Mls is EntryType 20; held rows are few, so a scan of one conversation is fine.
    return (await this.held(conversationId)).some((e) => e.type === 20);
  }

  async historyContent(conversationId: ConversationId, id: EntryId): Promise<MessageContent | null> {
    const row = await this.t.history.get([String(conversationId), committedSeq(id)]);
    return row ? contentFromRow(row.content) : null;
  }

  async peerKeys(conversationId: ConversationId): Promise<PeerKeys[]> {
    const [lo, hi] = range(String(conversationId));
    const rows = await this.t.peers.where('[conversationId+userId]').between(lo, hi).toArray();
    return rows.map((r) => ({ conversationId, userId: parseUserId(r.userId), keys: r.keys, changed: r.changed === 1 }));
  }

  async savePeerKeys(items: readonly PeerKeys[]): Promise<void> {
    await this.t.peers.bulkPut(
      items.map((p) => ({ conversationId: String(p.conversationId), userId: String(p.userId), keys: [...p.keys], changed: p.changed ? 1 : 0 })),
    );
  }
}
