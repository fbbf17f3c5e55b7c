/**
 * What one sealed log entry says, before sealing and after opening: a chat
 * message (text or media), or an opaque update for the conversation's
 * convergent state (CRDT updates and snapshots). One JSON codec, used by
 * every envelope, so the MLS and the placeholder envelopes read alike.
 */
import { EntryType, parseUserId } from '@tidings/shared';
import { fromBase64Url, toBase64Url } from '../media/bytes.js';
import { parseDescriptor, type MediaDescriptor } from '../media/descriptor.js';
import { MAX_REPLY_EXCERPT_CHARS, type MessageContent, type ReplyRef } from '../model/message.js';

/** Longest caption of a media message, in UTF-16 code units. */
export const MAX_CAPTION_CHARS = 4096;

export type Content =
  | { readonly t: 'text'; readonly text: string; readonly replyTo?: ReplyRef }
  | { readonly t: 'media'; readonly media: MediaDescriptor; readonly caption: string }
  /** Bytes for the state layer (Crdt and Snapshot entries); their structure is the state layer's. */
  | { readonly t: 'state'; readonly data: Uint8Array };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The JSON form of content (shared with payloads that embed it). */
export function contentToJson(c: Content): Record<string, unknown> {
  switch (c.t) {
    case 'text':
      return c.replyTo === undefined
        ? { t: 'text', text: c.text }
        : { t: 'text', text: c.text, reply: { uid: c.replyTo.uid, from: String(c.replyTo.senderUserId), excerpt: c.replyTo.excerpt } };
    case 'media':
      return { t: 'media', media: c.media, caption: c.caption };
    case 'state':
      return { t: 'state', data: toBase64Url(c.data) };
  }
}

const UID = /^\d{1,20}:[A-Za-z0-9_-]{1,64}$/;

/** A reply's quote from (decrypted, but sender-written) JSON; throws when malformed. */
function replyFromJson(v: unknown): ReplyRef {
  const r = v as { uid?: unknown; from?: unknown; excerpt?: unknown } | null;
  if (r === null || typeof r !== 'object' || typeof r.uid !== 'string' || !UID.test(r.uid)) throw new TypeError('bad reply uid');
  if (typeof r.excerpt !== 'string' || r.excerpt.length > MAX_REPLY_EXCERPT_CHARS) throw new TypeError('bad reply excerpt');
  return { uid: r.uid, senderUserId: parseUserId(r.from), excerpt: r.excerpt };
}

/** Parses the JSON form; null when it is not content (another payload kind); throws when malformed. */
export function contentFromJson(json: Record<string, unknown>): Content | null {
  switch (json.t) {
    case 'text':
      if (typeof json.text !== 'string') throw new TypeError('text without text');
      return json.reply === undefined ? { t: 'text', text: json.text } : { t: 'text', text: json.text, replyTo: replyFromJson(json.reply) };
    case 'media': {
      const caption = json.caption ?? '';
      if (typeof caption !== 'string' || caption.length > MAX_CAPTION_CHARS) throw new TypeError('bad caption');
      return { t: 'media', media: parseDescriptor(json.media), caption };
    }
    case 'state':
      if (typeof json.data !== 'string') throw new TypeError('state without data');
      return { t: 'state', data: fromBase64Url(json.data) };
    default:
      return null;
  }
}

export const encodeContent = (c: Content): Uint8Array => encoder.encode(JSON.stringify(contentToJson(c)));

/** Parses opened bytes; throws on anything malformed. */
export function decodeContent(bytes: Uint8Array): Content {
  const json = JSON.parse(decoder.decode(bytes)) as unknown;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TypeError('content is not an object');
  const content = contentFromJson(json as Record<string, unknown>);
  if (content === null) throw new TypeError('unknown content');
  return content;
}

/** The entry type content travels as (media: Media for images, audio and video; Document otherwise). */
export function entryTypeOf(c: Content, snapshot = false): EntryType {
  switch (c.t) {
    case 'text':
      return EntryType.Text;
    case 'media':
      return /^(image|audio|video)\//.test(c.media.mediaType) ? EntryType.Media : EntryType.Document;
    case 'state':
      return snapshot ? EntryType.Snapshot : EntryType.Crdt;
  }
}

/**
 * What a message row shows for opened content of an entry type; null for
 * state content (it is not a message). Content that does not fit its entry
 * type is unreadable: a sender cannot make a text entry show as media.
 */
export function messageContentOf(type: EntryType, c: Content): MessageContent | null {
  if (type === EntryType.Text && c.t === 'text') return c.replyTo === undefined ? { kind: 'text', text: c.text } : { kind: 'text', text: c.text, replyTo: c.replyTo };
  if ((type === EntryType.Media || type === EntryType.Document) && c.t === 'media') return { kind: 'media', media: c.media, caption: c.caption };
  if ((type === EntryType.Crdt || type === EntryType.Snapshot) && c.t === 'state') return null;
  return { kind: 'unreadable', reason: `entry type ${type} does not carry ${c.t} content` };
}
