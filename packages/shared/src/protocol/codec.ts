/**
 * One codec per frame, each encode beside its decode. Decoding never trusts
 * its input: every length and count is bounded by a named limit, and any
 * malformed, truncated or oversized frame throws TidingsError.
 */
import * as encoding from 'lib0/encoding';
import { ErrorCode, TidingsError, isErrorCode } from '../errors.js';
import type { ConversationId, DeviceId, EntryId, UserId } from '../ids.js';
import {
  MAX_BODY_BYTES,
  MAX_CLIENT_MSG_ID_BYTES,
  MAX_CURSOR_ENTRIES,
  MAX_ENTRIES_PER_FRAME,
  MAX_FRAME_BYTES,
  MAX_GROUP_MEMBERS,
  MAX_GROUP_NAME_CHARS,
  MAX_ITEMS_PER_FRAME,
  MAX_WATCHED_USERS,
  MAX_INBOX_ITEM_BYTES,
  MAX_TEXT_BYTES,
  MAX_TOKEN_BYTES,
} from '../limits.js';
import { FrameReader } from './reader.js';
import {
  PROTOCOL_VERSION,
  PresenceStatus,
  isInboxKind,
  isConversationKind,
  isEntryType,
  type ClientFrame,
  type ConversationInfo,
  type Entry,
  type ServerFrame,
} from './types.js';

type Enc = encoding.Encoder;
type FrameOf<U, T> = U extends { t: T } ? U : never;
interface Codec<F> {
  readonly tag: number;
  encode(e: Enc, frame: F): void;
  decode(r: FrameReader): F;
}
type Codecs<U extends { t: string }> = { [T in U['t']]: Codec<FrameOf<U, T>> };

const MAX_U63 = (1n << 63n) - 1n;
/** An id of any kind; `allowZero` for entry positions. */
function readId(r: FrameReader, what: string, allowZero = false): bigint {
  const v = r.u64(what);
  if (v > MAX_U63 || (!allowZero && v === 0n)) {
    throw new TidingsError(ErrorCode.InvalidFrame, `${what} out of range`);
  }
  return v;
}
const writeId = (e: Enc, id: bigint): void => encoding.writeBigUint64(e, id);
/** Encoded size of a string, for MAX_* checks on encode. */
const utf8 = new TextEncoder();

function writeBoundedString(e: Enc, s: string, max: number, what: string): void {
  const b = utf8.encode(s);
  if (b.length > max) throw new TidingsError(ErrorCode.PayloadTooLarge, `${what} exceeds ${max} bytes`);
  encoding.writeVarUint8Array(e, b);
}
function writeBoundedBytes(e: Enc, b: Uint8Array, max: number, what: string): void {
  if (b.length > max) throw new TidingsError(ErrorCode.PayloadTooLarge, `${what} exceeds ${max} bytes`);
  encoding.writeVarUint8Array(e, b);
}

// ---- entries (shared by the entries frame) ----
/** Smallest encoded entry: four ids, three one-byte lengths/values, one varuint. */
const MIN_ENTRY_BYTES = 8 * 4 + 4;

function writeEntry(e: Enc, entry: Entry): void {
  writeId(e, entry.id);
  writeId(e, entry.prevId);
  writeId(e, entry.senderUserId);
  writeId(e, entry.senderDeviceId);
  writeBoundedString(e, entry.clientMsgId, MAX_CLIENT_MSG_ID_BYTES, 'clientMsgId');
  encoding.writeUint8(e, entry.type);
  encoding.writeVarUint(e, entry.createdAt);
  writeBoundedBytes(e, entry.body, MAX_BODY_BYTES, 'body');
}
function readEntry(r: FrameReader, conversationId: ConversationId): Entry {
  const id = readId(r, 'entry id') as EntryId;
  const prevId = readId(r, 'prev id', true) as EntryId;
  if (prevId >= id) throw new TidingsError(ErrorCode.InvalidFrame, 'prev id must be below entry id');
  const senderUserId = readId(r, 'sender user id') as UserId;
  const senderDeviceId = readId(r, 'sender device id') as DeviceId;
  const clientMsgId = r.string('clientMsgId', MAX_CLIENT_MSG_ID_BYTES);
  const type = r.u8('entry type');
  if (!isEntryType(type)) throw new TidingsError(ErrorCode.InvalidFrame, `unknown entry type ${type}`);
  const createdAt = r.uint('createdAt');
  const body = r.bytes('body', MAX_BODY_BYTES);
  return { conversationId, id, prevId, senderUserId, senderDeviceId, clientMsgId, type, createdAt, body };
}

function writeConversation(e: Enc, c: ConversationInfo): void {
  writeId(e, c.id);
  encoding.writeUint8(e, c.kind);
  writeBoundedString(e, c.name, MAX_GROUP_NAME_CHARS * 4, 'name');
  if (c.members.length > MAX_GROUP_MEMBERS) throw new TidingsError(ErrorCode.PayloadTooLarge, 'too many members');
  encoding.writeVarUint(e, c.members.length);
  for (const m of c.members) writeId(e, m);
  writeId(e, c.lastId);
  encoding.writeUint8(e, c.left ? 1 : 0);
}
function readConversation(r: FrameReader): ConversationInfo {
  const id = readId(r, 'conversation id') as ConversationId;
  const kind = r.u8('conversation kind');
  if (!isConversationKind(kind)) throw new TidingsError(ErrorCode.InvalidFrame, `unknown conversation kind ${kind}`);
  const name = r.string('name', MAX_GROUP_NAME_CHARS * 4);
  const n = r.count('members', MAX_GROUP_MEMBERS, 8);
  const members: UserId[] = [];
  for (let i = 0; i < n; i++) members.push(readId(r, 'member id') as UserId);
  const lastId = readId(r, 'last id', true) as EntryId;
  const left = r.bool('left');
  return { id, kind, name, members, lastId, left };
}

// ---- client frames ----
const clientCodecs: Codecs<ClientFrame> = {
  hello: {
    tag: 1,
    encode(e, f) {
      writeBoundedString(e, f.token, MAX_TOKEN_BYTES, 'token');
      if (f.cursor.length > MAX_CURSOR_ENTRIES) throw new TidingsError(ErrorCode.PayloadTooLarge, 'cursor too long');
      encoding.writeVarUint(e, f.cursor.length);
      for (const c of f.cursor) {
        writeId(e, c.conversationId);
        writeId(e, c.upto);
      }
    },
    decode(r) {
      const token = r.string('token', MAX_TOKEN_BYTES);
      const n = r.count('cursor', MAX_CURSOR_ENTRIES, 16);
      const cursor = [];
      for (let i = 0; i < n; i++) {
        const conversationId = readId(r, 'cursor conversation id') as ConversationId;
        const upto = readId(r, 'cursor position', true) as EntryId;
        cursor.push({ conversationId, upto });
      }
      return { t: 'hello', token, cursor };
    },
  },
  send: {
    tag: 2,
    encode(e, f) {
      writeId(e, f.conversationId);
      writeBoundedString(e, f.clientMsgId, MAX_CLIENT_MSG_ID_BYTES, 'clientMsgId');
      encoding.writeUint8(e, f.type);
      writeBoundedBytes(e, f.body, MAX_BODY_BYTES, 'body');
    },
    decode(r) {
      const conversationId = readId(r, 'conversation id') as ConversationId;
      const clientMsgId = r.string('clientMsgId', MAX_CLIENT_MSG_ID_BYTES);
      if (clientMsgId.length === 0) throw new TidingsError(ErrorCode.InvalidFrame, 'clientMsgId is empty');
      // A NUL cannot be stored; refused here so it never reaches (and fails) a shared commit batch.
      if (clientMsgId.includes('\u0000')) throw new TidingsError(ErrorCode.InvalidFrame, 'clientMsgId contains a NUL character');
      const type = r.u8('entry type');
      if (!isEntryType(type)) throw new TidingsError(ErrorCode.InvalidFrame, `unknown entry type ${type}`);
      const body = r.bytes('body', MAX_BODY_BYTES);
      return { t: 'send', conversationId, clientMsgId, type, body };
    },
  },
  pull: {
    tag: 3,
    encode(e, f) {
      writeId(e, f.conversationId);
      writeId(e, f.after);
    },
    decode(r) {
      const conversationId = readId(r, 'conversation id') as ConversationId;
      const after = readId(r, 'after', true) as EntryId;
      return { t: 'pull', conversationId, after };
    },
  },
  ping: {
    tag: 4,
    encode(e, f) {
      encoding.writeVarUint(e, f.nonce);
    },
    decode(r) {
      return { t: 'ping', nonce: r.uint('nonce') };
    },
  },
  ack: {
    tag: 5,
    encode(e, f) {
      writeId(e, f.conversationId);
      writeId(e, f.delivered);
      writeId(e, f.read);
    },
    decode(r) {
      const conversationId = readId(r, 'conversation id') as ConversationId;
      const delivered = readId(r, 'delivered', true) as EntryId;
      const read = readId(r, 'read', true) as EntryId;
      return { t: 'ack', conversationId, delivered, read };
    },
  },
  typing: {
    tag: 6,
    encode(e, f) {
      writeId(e, f.conversationId);
      encoding.writeUint8(e, f.active ? 1 : 0);
    },
    decode(r) {
      const conversationId = readId(r, 'conversation id') as ConversationId;
      return { t: 'typing', conversationId, active: r.bool('active') };
    },
  },
  watch: {
    tag: 7,
    encode(e, f) {
      if (f.userIds.length > MAX_WATCHED_USERS) throw new TidingsError(ErrorCode.PayloadTooLarge, 'too many watched users');
      encoding.writeVarUint(e, f.userIds.length);
      for (const u of f.userIds) writeId(e, u);
    },
    decode(r) {
      const n = r.count('watched users', MAX_WATCHED_USERS, 8);
      const userIds: UserId[] = [];
      for (let i = 0; i < n; i++) userIds.push(readId(r, 'user id') as UserId);
      return { t: 'watch', userIds };
    },
  },
  inbox_ack: {
    tag: 8,
    encode(e, f) {
      writeId(e, f.upto);
    },
    decode(r) {
      return { t: 'inbox_ack', upto: readId(r, 'upto') };
    },
  },
};

// ---- server frames ----
const serverCodecs: Codecs<ServerFrame> = {
  welcome: {
    tag: 1,
    encode(e, f) {
      writeId(e, f.userId);
      writeId(e, f.deviceId);
      encoding.writeVarUint(e, f.serverTime);
    },
    decode(r) {
      const userId = readId(r, 'user id') as UserId;
      const deviceId = readId(r, 'device id') as DeviceId;
      return { t: 'welcome', userId, deviceId, serverTime: r.uint('serverTime') };
    },
  },
  conversation: {
    tag: 2,
    encode(e, f) {
      writeConversation(e, f.conversation);
    },
    decode(r) {
      return { t: 'conversation', conversation: readConversation(r) };
    },
  },
  entries: {
    tag: 3,
    encode(e, f) {
      writeId(e, f.conversationId);
      encoding.writeUint8(e, f.live ? 1 : 0);
      if (f.entries.length > MAX_ENTRIES_PER_FRAME) throw new TidingsError(ErrorCode.PayloadTooLarge, 'too many entries');
      encoding.writeVarUint(e, f.entries.length);
      for (const entry of f.entries) writeEntry(e, entry);
    },
    decode(r) {
      const conversationId = readId(r, 'conversation id') as ConversationId;
      const live = r.bool('live');
      const n = r.count('entries', MAX_ENTRIES_PER_FRAME, MIN_ENTRY_BYTES);
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) {
        const entry = readEntry(r, conversationId);
        const prev = entries[i - 1];
        if (prev && prev.id >= entry.id) throw new TidingsError(ErrorCode.InvalidFrame, 'entries out of order');
        entries.push(entry);
      }
      return { t: 'entries', conversationId, live, entries };
    },
  },
  sent: {
    tag: 4,
    encode(e, f) {
      writeId(e, f.conversationId);
      writeBoundedString(e, f.clientMsgId, MAX_CLIENT_MSG_ID_BYTES, 'clientMsgId');
      writeId(e, f.id);
      encoding.writeVarUint(e, f.createdAt);
    },
    decode(r) {
      const conversationId = readId(r, 'conversation id') as ConversationId;
      const clientMsgId = r.string('clientMsgId', MAX_CLIENT_MSG_ID_BYTES);
      const id = readId(r, 'entry id') as EntryId;
      return { t: 'sent', conversationId, clientMsgId, id, createdAt: r.uint('createdAt') };
    },
  },
  error: {
    tag: 5,
    encode(e, f) {
      writeBoundedString(e, f.code, 64, 'code');
      writeBoundedString(e, f.message.slice(0, MAX_TEXT_BYTES / 4), MAX_TEXT_BYTES, 'message');
      writeBoundedString(e, f.ref, MAX_CLIENT_MSG_ID_BYTES, 'ref');
    },
    decode(r) {
      const raw = r.string('code', 64);
      const message = r.string('message', MAX_TEXT_BYTES);
      const ref = r.string('ref', MAX_CLIENT_MSG_ID_BYTES);
      // A code from a newer server is kept readable rather than rejected.
      const code = isErrorCode(raw) ? raw : ErrorCode.Internal;
      return { t: 'error', code, message: code === raw ? message : `${raw}: ${message}`, ref };
    },
  },
  synced: {
    tag: 6,
    encode() {},
    decode() {
      return { t: 'synced' };
    },
  },
  pong: {
    tag: 7,
    encode(e, f) {
      encoding.writeVarUint(e, f.nonce);
      encoding.writeVarUint(e, f.serverTime);
    },
    decode(r) {
      const nonce = r.uint('nonce');
      return { t: 'pong', nonce, serverTime: r.uint('serverTime') };
    },
  },
  receipts: {
    tag: 8,
    encode(e, f) {
      writeId(e, f.conversationId);
      if (f.items.length > MAX_ITEMS_PER_FRAME) throw new TidingsError(ErrorCode.PayloadTooLarge, 'too many receipts');
      encoding.writeVarUint(e, f.items.length);
      for (const i of f.items) {
        writeId(e, i.userId);
        writeId(e, i.delivered);
        writeId(e, i.read);
      }
    },
    decode(r) {
      const conversationId = readId(r, 'conversation id') as ConversationId;
      const n = r.count('receipts', MAX_ITEMS_PER_FRAME, 24);
      const items = [];
      for (let i = 0; i < n; i++) {
        const userId = readId(r, 'user id') as UserId;
        const delivered = readId(r, 'delivered', true) as EntryId;
        const read = readId(r, 'read', true) as EntryId;
        items.push({ userId, delivered, read });
      }
      return { t: 'receipts', conversationId, items };
    },
  },
  typing: {
    tag: 9,
    encode(e, f) {
      writeId(e, f.conversationId);
      writeId(e, f.userId);
      encoding.writeUint8(e, f.active ? 1 : 0);
    },
    decode(r) {
      const conversationId = readId(r, 'conversation id') as ConversationId;
      const userId = readId(r, 'user id') as UserId;
      return { t: 'typing', conversationId, userId, active: r.bool('active') };
    },
  },
  presence: {
    tag: 10,
    encode(e, f) {
      if (f.items.length > MAX_ITEMS_PER_FRAME) throw new TidingsError(ErrorCode.PayloadTooLarge, 'too many presence items');
      encoding.writeVarUint(e, f.items.length);
      for (const i of f.items) {
        writeId(e, i.userId);
        encoding.writeUint8(e, i.status);
        encoding.writeVarUint(e, i.lastSeen);
      }
    },
    decode(r) {
      const n = r.count('presence items', MAX_ITEMS_PER_FRAME, 10);
      const items = [];
      for (let i = 0; i < n; i++) {
        const userId = readId(r, 'user id') as UserId;
        const status = r.u8('presence status');
        if (status !== PresenceStatus.Unknown && status !== PresenceStatus.Online && status !== PresenceStatus.Offline) {
          throw new TidingsError(ErrorCode.InvalidFrame, `unknown presence status ${status}`);
        }
        items.push({ userId, status, lastSeen: r.uint('last seen') });
      }
      return { t: 'presence', items };
    },
  },
  settings: {
    tag: 11,
    encode(e, f) {
      encoding.writeUint8(e, f.readReceipts ? 1 : 0);
      encoding.writeUint8(e, f.showLastSeen ? 1 : 0);
    },
    decode(r) {
      const readReceipts = r.bool('readReceipts');
      return { t: 'settings', readReceipts, showLastSeen: r.bool('showLastSeen') };
    },
  },
  inbox: {
    tag: 12,
    encode(e, f) {
      if (f.items.length > MAX_ITEMS_PER_FRAME) throw new TidingsError(ErrorCode.PayloadTooLarge, 'too many inbox items');
      encoding.writeVarUint(e, f.items.length);
      for (const i of f.items) {
        writeId(e, i.id);
        writeId(e, i.senderUserId);
        writeId(e, i.senderDeviceId);
        encoding.writeUint8(e, i.kind);
        encoding.writeVarUint(e, i.createdAt);
        writeBoundedBytes(e, i.body, MAX_INBOX_ITEM_BYTES, 'inbox item');
      }
    },
    decode(r) {
      const n = r.count('inbox items', MAX_ITEMS_PER_FRAME, 27); // 3 ids, kind, createdAt and body length: 27 bytes at least
      const items = [];
      for (let i = 0; i < n; i++) {
        const id = readId(r, 'inbox id');
        const senderUserId = readId(r, 'sender user id') as UserId;
        const senderDeviceId = readId(r, 'sender device id') as DeviceId;
        const kind = r.u8('inbox kind');
        if (!isInboxKind(kind)) throw new TidingsError(ErrorCode.InvalidFrame, `unknown inbox kind ${kind}`);
        const createdAt = r.uint('createdAt');
        items.push({ id, senderUserId, senderDeviceId, kind, createdAt, body: r.bytes('inbox item', MAX_INBOX_ITEM_BYTES) });
      }
      return { t: 'inbox', items };
    },
  },
  key_packages_low: {
    tag: 13,
    encode(e, f) {
      encoding.writeVarUint(e, f.stock);
    },
    decode(r) {
      return { t: 'key_packages_low', stock: r.uint('stock') };
    },
  },
};

function makeCodec<U extends { t: string }>(codecs: Codecs<U>, direction: string) {
  const byTag = new Map<number, Codec<U>>();
  for (const c of Object.values(codecs) as Codec<U>[]) byTag.set(c.tag, c);
  return {
    encode(frame: U): Uint8Array {
      const codec = (codecs as Record<string, Codec<U>>)[frame.t];
      if (!codec) throw new TidingsError(ErrorCode.InvalidArgument, `unknown ${direction} frame ${frame.t}`);
      const e = encoding.createEncoder();
      encoding.writeUint8(e, PROTOCOL_VERSION);
      encoding.writeUint8(e, codec.tag);
      codec.encode(e, frame);
      const bytes = encoding.toUint8Array(e);
      if (bytes.length > MAX_FRAME_BYTES) {
        throw new TidingsError(ErrorCode.PayloadTooLarge, `${direction} frame is ${bytes.length} bytes, over ${MAX_FRAME_BYTES}`);
      }
      return bytes;
    },
    decode(bytes: Uint8Array): U {
      if (bytes.length > MAX_FRAME_BYTES) {
        throw new TidingsError(ErrorCode.PayloadTooLarge, `frame is ${bytes.length} bytes, over ${MAX_FRAME_BYTES}`);
      }
      const r = new FrameReader(bytes);
      const version = r.u8('version');
      if (version !== PROTOCOL_VERSION) {
        throw new TidingsError(ErrorCode.UnsupportedVersion, `protocol version ${version} is not supported (want ${PROTOCOL_VERSION})`);
      }
      const tag = r.u8('tag');
      const codec = byTag.get(tag);
      if (!codec) throw new TidingsError(ErrorCode.InvalidFrame, `unknown ${direction} frame tag ${tag}`);
      const frame = codec.decode(r);
      r.end();
      return frame;
    },
  };
}

const client = makeCodec<ClientFrame>(clientCodecs, 'client');
const server = makeCodec<ServerFrame>(serverCodecs, 'server');
export const encodeClientFrame = client.encode;
export const decodeClientFrame = client.decode;
export const encodeServerFrame = server.encode;
export const decodeServerFrame = server.decode;
