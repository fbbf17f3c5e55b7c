/** The content codec: replies round-trip; a malformed quote is refused rather than shown. */
import { describe, expect, it } from 'vitest';
import { EntryType, type UserId } from '@tidings/shared';
import { decodeContent, encodeContent, messageContentOf } from '../src/envelope/content.js';
import { MAX_REPLY_EXCERPT_CHARS } from '../src/model/message.js';
import { contentFromRow, contentToRow } from '../src/replica/dexie-rows.js';

const enc = new TextEncoder();

describe('content codec', () => {
  it('round-trips a reply through the wire form and the replica row', () => {
    const c = { t: 'text', text: 'yes', replyTo: { uid: '42:abc', senderUserId: 7n as UserId, excerpt: 'lunch?' } } as const;
    const back = decodeContent(encodeContent(c));
    expect(back).toEqual(c);
    const shown = messageContentOf(EntryType.Text, back)!;
    expect(contentFromRow(contentToRow(shown))).toEqual(shown);
  });

  it('refuses malformed quotes', () => {
    const bad = [
      { t: 'text', text: 'x', reply: { uid: '../x', from: '7', excerpt: '' } },
      { t: 'text', text: 'x', reply: { uid: '1:a', from: 'seven', excerpt: '' } },
      { t: 'text', text: 'x', reply: { uid: '1:a', from: '7', excerpt: 'e'.repeat(MAX_REPLY_EXCERPT_CHARS + 1) } },
      { t: 'text', text: 'x', reply: null },
    ];
    for (const b of bad) expect(() => decodeContent(enc.encode(JSON.stringify(b))), JSON.stringify(b).slice(0, 60)).toThrow();
  });
});
