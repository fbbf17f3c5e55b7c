import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EntryType,
  ConversationKind,
  MAX_BODY_BYTES,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  TidingsError,
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  type ClientFrame,
  type ConversationId,
  type DeviceId,
  type EntryId,
  type ServerFrame,
  type UserId,
} from '../src/index.js';

const id = fc.bigInt({ min: 1n, max: (1n << 63n) - 1n });
const pos = fc.bigInt({ min: 0n, max: (1n << 63n) - 1n });
const msgId = fc.string({ minLength: 1, maxLength: 16 });
const entryType = fc.constantFrom(...Object.values(EntryType));
const body = fc.uint8Array({ maxLength: 2048 });

const clientFrame: fc.Arbitrary<ClientFrame> = fc.oneof(
  fc.record({
    t: fc.constant('hello' as const),
    token: fc.string({ maxLength: 64 }),
    cursor: fc.array(
      fc.record({ conversationId: id.map((v) => v as ConversationId), upto: pos.map((v) => v as EntryId) }),
      { maxLength: 20 },
    ),
  }),
  fc.record({
    t: fc.constant('send' as const),
    conversationId: id.map((v) => v as ConversationId),
    clientMsgId: msgId,
    type: entryType,
    body,
  }),
  fc.record({ t: fc.constant('pull' as const), conversationId: id.map((v) => v as ConversationId), after: pos.map((v) => v as EntryId) }),
  fc.record({ t: fc.constant('ping' as const), nonce: fc.nat() }),
  fc.record({ t: fc.constant('ack' as const), conversationId: id.map((v) => v as ConversationId), delivered: pos.map((v) => v as EntryId), read: pos.map((v) => v as EntryId) }),
  fc.record({ t: fc.constant('typing' as const), conversationId: id.map((v) => v as ConversationId), active: fc.boolean() }),
  fc.record({ t: fc.constant('watch' as const), userIds: fc.array(id.map((v) => v as UserId), { maxLength: 20 }) }),
  fc.record({ t: fc.constant('inbox_ack' as const), upto: id }),
);

const entriesFrame = fc
  .record({
    conversationId: id,
    live: fc.boolean(),
    items: fc.array(
      fc.record({ gap: fc.bigInt({ min: 1n, max: 1n << 30n }), senderUserId: id, senderDeviceId: id, clientMsgId: msgId, type: entryType, createdAt: fc.nat(), body }),
      { maxLength: 10 },
    ),
  })
  .map(({ conversationId, live, items }): ServerFrame => {
    let prev = 0n;
    const entries = items.map((it) => {
      const entryId = prev + it.gap;
      const e = {
        conversationId: conversationId as ConversationId,
        id: entryId as EntryId,
        prevId: prev as EntryId,
        senderUserId: it.senderUserId as UserId,
        senderDeviceId: it.senderDeviceId as DeviceId,
        clientMsgId: it.clientMsgId,
        type: it.type,
        createdAt: it.createdAt,
        body: it.body,
      };
      prev = entryId;
      return e;
    });
    return { t: 'entries', conversationId: conversationId as ConversationId, live, entries };
  });

const serverFrame: fc.Arbitrary<ServerFrame> = fc.oneof(
  fc.record({ t: fc.constant('welcome' as const), userId: id.map((v) => v as UserId), deviceId: id.map((v) => v as DeviceId), serverTime: fc.nat() }),
  fc.record({
    t: fc.constant('conversation' as const),
    conversation: fc.record({
      id: id.map((v) => v as ConversationId),
      kind: fc.constantFrom(...Object.values(ConversationKind)),
      name: fc.string({ maxLength: 20 }),
      members: fc.array(id.map((v) => v as UserId), { maxLength: 10 }),
      lastId: pos.map((v) => v as EntryId),
      left: fc.boolean(),
    }),
  }),
  entriesFrame,
  fc.record({ t: fc.constant('sent' as const), conversationId: id.map((v) => v as ConversationId), clientMsgId: msgId, id: id.map((v) => v as EntryId), createdAt: fc.nat() }),
  fc.record({ t: fc.constant('error' as const), code: fc.constant('not_a_member' as const), message: fc.string({ maxLength: 50 }), ref: fc.string({ maxLength: 10 }) }),
  fc.constant({ t: 'synced' as const }),
  fc.record({ t: fc.constant('pong' as const), nonce: fc.nat(), serverTime: fc.nat() }),
  fc.record({
    t: fc.constant('receipts' as const),
    conversationId: id.map((v) => v as ConversationId),
    items: fc.array(fc.record({ userId: id.map((v) => v as UserId), delivered: pos.map((v) => v as EntryId), read: pos.map((v) => v as EntryId) }), { maxLength: 10 }),
  }),
  fc.record({ t: fc.constant('typing' as const), conversationId: id.map((v) => v as ConversationId), userId: id.map((v) => v as UserId), active: fc.boolean() }),
  fc.record({
    t: fc.constant('presence' as const),
    items: fc.array(fc.record({ userId: id.map((v) => v as UserId), status: fc.constantFrom(0 as const, 1 as const, 2 as const), lastSeen: fc.nat() }), { maxLength: 10 }),
  }),
  fc.record({ t: fc.constant('settings' as const), readReceipts: fc.boolean(), showLastSeen: fc.boolean() }),
  fc.record({
    t: fc.constant('inbox' as const),
    items: fc.array(
      fc.record({ id, senderUserId: id.map((v) => v as UserId), senderDeviceId: id.map((v) => v as DeviceId), kind: fc.constantFrom(1 as const, 2 as const), createdAt: fc.nat(), body }),
      { maxLength: 5 },
    ),
  }),
  fc.record({ t: fc.constant('key_packages_low' as const), stock: fc.nat() }),
);

/** Decoding must either succeed or throw a TidingsError: never anything else. */
function decodesOrTypedError(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): void {
  try {
    decode(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(TidingsError);
  }
}

describe('protocol codecs', () => {
  it('round-trips every client frame', () => {
    fc.assert(fc.property(clientFrame, (f) => { expect(decodeClientFrame(encodeClientFrame(f))).toEqual(f); }), { numRuns: 500 });
  });

  it('round-trips every server frame', () => {
    fc.assert(fc.property(serverFrame, (f) => { expect(decodeServerFrame(encodeServerFrame(f))).toEqual(f); }), { numRuns: 500 });
  });

  it('rejects every truncation of a valid frame with a typed error', () => {
    fc.assert(
      fc.property(fc.oneof(clientFrame.map(encodeClientFrame)), fc.nat(), (bytes, cut) => {
        const at = cut % bytes.length;
        expect(() => decodeClientFrame(bytes.subarray(0, at))).toThrow(TidingsError);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(serverFrame.map(encodeServerFrame), fc.nat(), (bytes, cut) => {
        const at = cut % bytes.length;
        expect(() => decodeServerFrame(bytes.subarray(0, at))).toThrow(TidingsError);
      }),
      { numRuns: 500 },
    );
  });

  it('answers random and mutated bytes with a value or a typed error, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        decodesOrTypedError(decodeClientFrame, bytes);
        decodesOrTypedError(decodeServerFrame, bytes);
        const versioned = new Uint8Array([PROTOCOL_VERSION, ...bytes]);
        decodesOrTypedError(decodeClientFrame, versioned);
        decodesOrTypedError(decodeServerFrame, versioned);
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(clientFrame.map(encodeClientFrame), fc.nat(), fc.integer({ min: 0, max: 255 }), (bytes, at, v) => {
        const copy = bytes.slice();
        copy[at % copy.length] = v;
        decodesOrTypedError(decodeClientFrame, copy);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects trailing bytes, unknown tags, unknown versions and oversized input', () => {
    const ping = encodeClientFrame({ t: 'ping', nonce: 1 });
    expect(() => decodeClientFrame(new Uint8Array([...ping, 0]))).toThrow(/trailing/);
    expect(() => decodeClientFrame(new Uint8Array([PROTOCOL_VERSION, 99]))).toThrow(/unknown client frame tag/);
    expect(() => decodeClientFrame(new Uint8Array([PROTOCOL_VERSION + 1, 4, 1]))).toThrow(
      expect.objectContaining({ code: 'unsupported_version' }),
    );
    expect(() => decodeClientFrame(new Uint8Array(MAX_FRAME_BYTES + 1))).toThrow(expect.objectContaining({ code: 'payload_too_large' }));
  });

  it('never allocates for a length prefix that claims more than the limit or the frame holds', () => {
    // send frame: conversation id, clientMsgId "a", type 1, then a body length claiming 2^40 bytes.
    const head = encodeClientFrame({ t: 'send', conversationId: 5n as ConversationId, clientMsgId: 'a', type: 1, body: new Uint8Array() });
    const hostile = new Uint8Array([...head.subarray(0, head.length - 1), 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    expect(() => decodeClientFrame(hostile)).toThrow(expect.objectContaining({ code: 'invalid_frame' }));
    // hello whose cursor count claims a million entries in a tiny frame.
    const hello = new Uint8Array([PROTOCOL_VERSION, 1, 0, 0xc0, 0x84, 0x3d]);
    expect(() => decodeClientFrame(hello)).toThrow(TidingsError);
    expect(() =>
      encodeClientFrame({ t: 'send', conversationId: 5n as ConversationId, clientMsgId: 'a', type: 1, body: new Uint8Array(MAX_BODY_BYTES + 1) }),
    ).toThrow(expect.objectContaining({ code: 'payload_too_large' }));
  });

  it('rejects clients that claim server-only fields: zero ids and empty idempotency keys', () => {
    const send = encodeClientFrame({ t: 'send', conversationId: 5n as ConversationId, clientMsgId: 'x', type: 1, body: new Uint8Array([1]) });
    const zeroed = send.slice();
    zeroed.fill(0, 2, 10);
    expect(() => decodeClientFrame(zeroed)).toThrow(/conversation id out of range/);
    expect(() => encodeClientFrame({ t: 'send', conversationId: 5n as ConversationId, clientMsgId: '', type: 1, body: new Uint8Array() })).not.toThrow();
    expect(() => decodeClientFrame(encodeClientFrame({ t: 'send', conversationId: 5n as ConversationId, clientMsgId: '', type: 1, body: new Uint8Array() }))).toThrow(/empty/);
  });
});
