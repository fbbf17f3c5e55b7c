/**
 * The seed's HTTP API (sendMessage / getMessages), with the same semantics as
 * the WebSocket path: the same writer, idempotency and membership rules.
 */
import {
  EntryType,
  ErrorCode,
  MAX_BODY_BYTES,
  MAX_CLIENT_MSG_ID_BYTES,
  DEFAULT_PAGE_LIMIT,
  MAX_PAGE_LIMIT,
  TidingsError,
  fromBase64,
  toBase64,
  type ConversationId,
  type Entry,
  type EntryId,
} from '@tidings/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Accounts } from '../accounts/service.js';
import type { Conversations } from '../conversations/service.js';
import type { LogWriter } from '../log/writer.js';
import { readBefore } from '../log/store.js';
import type { SqlClient } from '../storage/sql.js';
import type { Receipts } from '../receipts/service.js';
import { authOf } from './auth.js';
import { HTTP_LIMITS, byDeviceToken, limit } from './security.js';
import { anyIdSchema, parse, userIdSchema } from './validate.js';

const TYPES = { text: EntryType.Text, media: EntryType.Media, document: EntryType.Document } as const;
const TYPE_NAMES: Record<number, string> = { [EntryType.Text]: 'text', [EntryType.Media]: 'media', [EntryType.Document]: 'document' };
/** Base64 of MAX_BODY_BYTES, the longest ciphertext string accepted. */
const MAX_CIPHERTEXT_CHARS = Math.ceil(MAX_BODY_BYTES / 3) * 4;

const SendMessage = z.strictObject({
  message_id: z
    .string()
    .min(1)
    .refine((s) => Buffer.byteLength(s) <= MAX_CLIENT_MSG_ID_BYTES, `at most ${MAX_CLIENT_MSG_ID_BYTES} bytes`)
    .refine((s) => !s.includes('\u0000'), 'must not contain a NUL character'),
  sender_id: userIdSchema,
  receiver_id: anyIdSchema,
  type: z.enum(['text', 'media', 'document']),
  content: z.strictObject({ ciphertext: z.string().min(1).max(MAX_CIPHERTEXT_CHARS) }),
});

const GetMessages = z.strictObject({
  chat_id: anyIdSchema,
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT),
  next_token: z.string().max(200).optional(),
});

/** next_token: opaque to clients; binds the position to its conversation so it cannot be replayed elsewhere. */
const encodeToken = (c: ConversationId, before: EntryId): string => Buffer.from(`v1.${c}.${before}`).toString('base64url');
function decodeToken(token: string, c: ConversationId): EntryId {
  const m = /^v1\.(\d{1,19})\.(\d{1,19})$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m || BigInt(m[1]!) !== c) throw new TidingsError(ErrorCode.InvalidArgument, 'next_token is not valid for this chat');
  return BigInt(m[2]!) as EntryId;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function seedRoutes(
  app: FastifyInstance,
  deps: { accounts: Accounts; conversations: Conversations; writer: LogWriter; db: SqlClient; receipts: Receipts; rateLimit: boolean },
): void {
  const { accounts, conversations, writer, db, receipts } = deps;

  app.post('/sendMessage', limit(deps.rateLimit, HTTP_LIMITS.sendsPerDevice, byDeviceToken), async (req) => {
    const auth = await authOf(accounts, req);
    const b = parse(SendMessage, req.body, 'body');
    if (b.sender_id !== auth.userId) throw new TidingsError(ErrorCode.Forbidden, 'sender_id must be the signed-in user');
    const body = fromBase64(b.content.ciphertext, 'content.ciphertext');
    if (body.length > MAX_BODY_BYTES) throw new TidingsError(ErrorCode.PayloadTooLarge, `ciphertext exceeds ${MAX_BODY_BYTES} bytes`);
    const conversationId = (await conversations.resolveChat(auth, b.receiver_id, true)) as ConversationId;
    const { entry } = await writer.append({
      conversationId,
      senderUserId: auth.userId,
      senderDeviceId: auth.deviceId,
      clientMsgId: b.message_id,
      type: TYPES[b.type],
      body,
    });
    return { id: String(entry.id), message_id: entry.clientMsgId, chat_id: String(b.receiver_id), created_at: iso(entry.createdAt) };
  });

  app.get('/getMessages', async (req) => {
    const auth = await authOf(accounts, req);
    const q = parse(GetMessages, req.query, 'query');
    const conversationId = await conversations.resolveChat(auth, q.chat_id, false);
    if (conversationId === undefined) return { messages: [], next_token: null };
    const m = await conversations.requireMember(conversationId, auth.userId);
    const before = q.next_token === undefined ? null : decodeToken(q.next_token, conversationId);
    const page = await readBefore(db, {
      conversationId,
      before,
      since: m.sinceId,
      upto: m.untilId,
      types: Object.values(TYPES),
      limit: q.limit,
    });
    const last = page[page.length - 1];
    const status = await receipts.statusFor(auth.userId, conversationId);
    return {
      // The caller's own messages say how far they got: sent, delivered (to every other member) or read.
      messages: page.map((e) => ({ ...messageJson(e, q.chat_id), ...(e.senderUserId === auth.userId ? { status: status(e.id) } : {}) })),
      next_token: page.length === q.limit && last ? encodeToken(conversationId, last.id) : null,
    };
  });
}

const messageJson = (e: Entry, chatId: bigint) => ({
  id: String(e.id),
  message_id: e.clientMsgId,
  chat_id: String(chatId),
  sender_id: String(e.senderUserId),
  sender_device_id: String(e.senderDeviceId),
  type: TYPE_NAMES[e.type],
  content: { ciphertext: toBase64(e.body) },
  created_at: iso(e.createdAt),
});
