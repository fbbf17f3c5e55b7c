/**
 * fast-check arbitraries for hostile WebSocket input: valid client frames,
 * the same with one field mutated or out of range, truncated, extended,
 * random bytes, huge length prefixes, wrong versions, text instead of binary.
 * Pure (only @tidings/shared), so the shared decoder test, the server fuzz
 * test and bench/fuzz.ts all draw from the same generators.
 */
import fc from 'fast-check';
import {
  EntryType,
  MAX_BODY_BYTES,
  MAX_CLIENT_MSG_ID_BYTES,
  MAX_FRAME_BYTES,
  MAX_TOKEN_BYTES,
  PROTOCOL_VERSION,
  encodeClientFrame,
  encodeServerFrame,
  type ClientFrame,
  type ConversationId,
  type EntryId,
  type ServerFrame,
  type UserId,
} from '@tidings/shared';

export const MAX_U63 = (1n << 63n) - 1n;

/** Ids worth trying: real ones the caller knows about, edges, and random ones. */
export interface IdPool {
  /** Conversation ids that exist (the fuzzing user's own and other users'). */
  readonly conversations: readonly bigint[];
  /** User ids that exist. */
  readonly users: readonly bigint[];
  /** A real bearer token (for hello cases that should get past authentication). */
  readonly tokens: readonly string[];
}
export const EMPTY_POOL: IdPool = { conversations: [], users: [], tokens: [] };

const edgeIds = [1n, 2n, 255n, 256n, 65535n, 2n ** 32n, 2n ** 53n, 2n ** 53n + 1n, MAX_U63 - 1n, MAX_U63];
const randomId = fc.bigInt({ min: 1n, max: MAX_U63 });
const pick = <T>(xs: readonly T[]): fc.Arbitrary<T>[] => (xs.length > 0 ? [fc.constantFrom(...xs)] : []);

export const idArb = (known: readonly bigint[]): fc.Arbitrary<bigint> => fc.oneof(...pick(known), fc.constantFrom(...edgeIds), randomId);
const positionArb = fc.oneof(fc.constant(0n), fc.constantFrom(...edgeIds), randomId);

/** Strings that stay within a byte budget once UTF-8 encoded, including awkward code points. */
export const boundedString = (maxBytes: number, minLength = 0): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ minLength, maxLength: Math.min(maxBytes, 80) }),
      fc.string({ unit: 'grapheme', minLength, maxLength: Math.min(maxBytes, 20) }),
      fc.constantFrom(
        '\u0000',
        'a\u0000b',
        '\u202e',
        '\uFEFF',
        '../../etc/passwd',
        '%00',
        'x'.repeat(Math.min(maxBytes, 64)),
        '😀'.repeat(Math.floor(maxBytes / 4)),
      ),
    )
    .filter((s) => s.length >= minLength && Buffer.byteLength(s) <= maxBytes);

const bodyArb = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1000, MAX_BODY_BYTES - 1, MAX_BODY_BYTES).map((n) => new Uint8Array(n)) },
);
const entryTypeArb = fc.constantFrom(...(Object.values(EntryType) as EntryType[]));

/** Any well-formed client frame (it encodes), with ids drawn from the pool. */
export function clientFrameArb(pool: IdPool = EMPTY_POOL): fc.Arbitrary<ClientFrame> {
  const conv = idArb(pool.conversations).map((v) => v as ConversationId);
  const user = idArb(pool.users).map((v) => v as UserId);
  const pos = positionArb.map((v) => v as EntryId);
  return fc.oneof(
    fc.record({
      t: fc.constant('hello' as const),
      token: fc.oneof(...pick(pool.tokens), boundedString(MAX_TOKEN_BYTES)),
      cursor: fc.array(fc.record({ conversationId: conv, upto: pos }), { maxLength: 8 }),
    }),
    fc.record({
      t: fc.constant('send' as const),
      conversationId: conv,
      // a valid idempotency key has no NUL (the decoder refuses one: it cannot be stored)
      clientMsgId: boundedString(MAX_CLIENT_MSG_ID_BYTES, 1).filter((s) => !s.includes('\u0000')),
      type: entryTypeArb,
      body: bodyArb,
    }),
    fc.record({ t: fc.constant('pull' as const), conversationId: conv, after: pos }),
    fc.record({ t: fc.constant('ping' as const), nonce: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)) }),
    fc.record({ t: fc.constant('ack' as const), conversationId: conv, delivered: pos, read: pos }),
    fc.record({ t: fc.constant('typing' as const), conversationId: conv, active: fc.boolean() }),
    fc.record({ t: fc.constant('watch' as const), userIds: fc.array(user, { maxLength: 16 }) }),
    fc.record({ t: fc.constant('inbox_ack' as const), upto: idArb([]) }),
  );
}

/** Well-formed server frames, for the client-side decoder property. */
export function serverFrameArb(): fc.Arbitrary<ServerFrame> {
  const id = randomId;
  const pos = positionArb;
  const str64 = boundedString(MAX_CLIENT_MSG_ID_BYTES);
  return fc.oneof(
    fc
      .record({ t: fc.constant('welcome' as const), userId: id, deviceId: id, serverTime: fc.nat() })
      .map((f) => f as unknown as ServerFrame),
    fc
      .record({
        t: fc.constant('conversation' as const),
        conversation: fc.record({
          id,
          kind: fc.constantFrom(1, 2, 3) as fc.Arbitrary<1 | 2 | 3>,
          name: boundedString(128),
          members: fc.array(id, { maxLength: 8 }),
          lastId: pos,
          left: fc.boolean(),
        }),
      })
      .map((f) => f as unknown as ServerFrame),
    fc
      .record({
        conversationId: id,
        live: fc.boolean(),
        ids: fc.uniqueArray(fc.bigInt({ min: 1n, max: MAX_U63 }), { maxLength: 5 }),
        clientMsgId: str64,
        body: fc.uint8Array({ maxLength: 32 }),
      })
      .map(({ conversationId, live, ids, clientMsgId, body }): ServerFrame => {
        const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        return {
          t: 'entries',
          conversationId: conversationId as ConversationId,
          live,
          entries: sorted.map((eid, i) => ({
            conversationId: conversationId as ConversationId,
            id: eid as EntryId,
            prevId: (i === 0 ? 0n : sorted[i - 1]!) as EntryId,
            senderUserId: 1n as UserId,
            senderDeviceId: 2n as never,
            clientMsgId,
            type: EntryType.Text,
            createdAt: 1,
            body,
          })),
        };
      }),
    fc
      .record({ t: fc.constant('sent' as const), conversationId: id, clientMsgId: str64, id, createdAt: fc.nat() })
      .map((f) => f as unknown as ServerFrame),
    fc
      .record({ t: fc.constant('error' as const), code: fc.constantFrom('invalid_frame', 'internal'), message: fc.string(), ref: str64 })
      .map((f) => f as unknown as ServerFrame),
    fc.constant({ t: 'synced' } as ServerFrame),
    fc.record({ t: fc.constant('pong' as const), nonce: fc.nat(), serverTime: fc.nat() }),
    fc
      .record({
        t: fc.constant('receipts' as const),
        conversationId: id,
        items: fc.array(fc.record({ userId: id, delivered: pos, read: pos }), { maxLength: 4 }),
      })
      .map((f) => f as unknown as ServerFrame),
    fc
      .record({ t: fc.constant('typing' as const), conversationId: id, userId: id, active: fc.boolean() })
      .map((f) => f as unknown as ServerFrame),
    fc
      .record({
        t: fc.constant('presence' as const),
        items: fc.array(fc.record({ userId: id, status: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, lastSeen: fc.nat() }), {
          maxLength: 4,
        }),
      })
      .map((f) => f as unknown as ServerFrame),
    fc.record({ t: fc.constant('settings' as const), readReceipts: fc.boolean(), showLastSeen: fc.boolean() }),
    fc
      .record({
        t: fc.constant('inbox' as const),
        items: fc.array(
          fc.record({
            id,
            senderUserId: id,
            senderDeviceId: id,
            kind: fc.constantFrom(1, 2) as fc.Arbitrary<1 | 2>,
            createdAt: fc.nat(),
            body: fc.uint8Array({ maxLength: 16 }),
          }),
          { maxLength: 3 },
        ),
      })
      .map((f) => f as unknown as ServerFrame),
    fc.record({ t: fc.constant('key_packages_low' as const), stock: fc.nat() }),
  );
}

/** A LEB128 unsigned varint of any size (lib0's varuint), for hostile length prefixes and counts. */
export function varuint(n: bigint): Uint8Array {
  const out: number[] = [];
  let v = n;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Uint8Array.from(out);
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

const hugeLengths = [
  BigInt(MAX_FRAME_BYTES),
  BigInt(MAX_BODY_BYTES + 1),
  2n ** 31n - 1n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
  2n ** 70n,
];

/** One hostile WebSocket message: what it is (for the report) and its payload. */
export interface FuzzFrame {
  readonly kind: string;
  readonly data: Uint8Array | string;
}

/** Mutations of one encoded frame. */
function mutate(bytes: Uint8Array): fc.Arbitrary<FuzzFrame> {
  const n = bytes.length;
  const at = fc.nat({ max: Math.max(0, n - 1) });
  return fc.oneof(
    fc.record({ i: at, b: fc.nat({ max: 255 }) }).map(({ i, b }) => {
      const c = bytes.slice();
      c[i] = b;
      return { kind: 'byte_set', data: c };
    }),
    fc.record({ i: at, bit: fc.nat({ max: 7 }) }).map(({ i, bit }) => {
      const c = bytes.slice();
      c[i] = (c[i] ?? 0) ^ (1 << bit);
      return { kind: 'bit_flip', data: c };
    }),
    fc.nat({ max: Math.max(0, n - 1) }).map((k) => ({ kind: 'truncated', data: bytes.slice(0, k) })),
    fc.uint8Array({ minLength: 1, maxLength: 32 }).map((tail) => ({ kind: 'extended', data: concat(bytes, tail) })),
    fc
      .nat({ max: 255 })
      .filter((v) => v !== PROTOCOL_VERSION)
      .map((v) => {
        const c = bytes.slice();
        c[0] = v;
        return { kind: 'wrong_version', data: c };
      }),
    fc.constantFrom(0, 9, 10, 42, 127, 128, 255).map((tag) => {
      const c = bytes.slice();
      if (c.length > 1) c[1] = tag;
      return { kind: 'unknown_tag', data: c };
    }),
    // A huge varuint spliced in at a field boundary-ish position: lengths and counts.
    fc.record({ i: fc.nat({ max: n }), len: fc.constantFrom(...hugeLengths), keep: fc.boolean() }).map(({ i, len, keep }) => ({
      kind: 'huge_length',
      data: concat(bytes.slice(0, i), varuint(len), keep ? bytes.slice(i) : new Uint8Array(0)),
    })),
    // A run of continuation bytes: a varint that never ends.
    fc.record({ i: fc.nat({ max: n }), run: fc.integer({ min: 1, max: 40 }) }).map(({ i, run }) => ({
      kind: 'endless_varint',
      data: concat(bytes.slice(0, i), new Uint8Array(run).fill(0xff), bytes.slice(i)),
    })),
    fc
      .record({ i: at, k: fc.integer({ min: 1, max: 8 }) })
      .map(({ i, k }) => ({ kind: 'bytes_deleted', data: concat(bytes.slice(0, i), bytes.slice(i + k)) })),
  );
}

/** Frames whose fields are individually out of range, built by hand (the encoder would refuse them). */
function outOfRange(pool: IdPool): fc.Arbitrary<FuzzFrame> {
  const v = PROTOCOL_VERSION;
  const u64 = (x: bigint): Uint8Array => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, x & (2n ** 64n - 1n));
    return b;
  };
  const conv = idArb(pool.conversations);
  const badId = fc.constantFrom(0n, MAX_U63 + 1n, 2n ** 64n - 1n);
  const utf8 = (s: string) => new TextEncoder().encode(s);
  const str = (b: Uint8Array) => concat(varuint(BigInt(b.length)), b);
  return fc.oneof(
    badId.map((id) => ({ kind: 'id_out_of_range', data: concat(Uint8Array.of(v, 3), u64(id), u64(0n)) })),
    badId.map((id) => ({
      kind: 'id_out_of_range',
      data: concat(Uint8Array.of(v, 2), u64(id), str(utf8('m')), Uint8Array.of(1), str(new Uint8Array(1))),
    })),
    fc
      .record({ c: conv, after: fc.constantFrom(MAX_U63 + 1n, 2n ** 64n - 1n) })
      .map(({ c, after }) => ({ kind: 'position_out_of_range', data: concat(Uint8Array.of(v, 3), u64(c), u64(after)) })),
    // send: empty clientMsgId, too-long clientMsgId, unknown entry type, body over the limit.
    conv.map((c) => ({
      kind: 'empty_client_msg_id',
      data: concat(Uint8Array.of(v, 2), u64(c), str(new Uint8Array(0)), Uint8Array.of(1), str(new Uint8Array(1))),
    })),
    conv.map((c) => ({
      kind: 'long_client_msg_id',
      data: concat(
        Uint8Array.of(v, 2),
        u64(c),
        str(utf8('x'.repeat(MAX_CLIENT_MSG_ID_BYTES + 1))),
        Uint8Array.of(1),
        str(new Uint8Array(1)),
      ),
    })),
    fc.record({ c: conv, t: fc.nat({ max: 255 }).filter((t) => !(Object.values(EntryType) as number[]).includes(t)) }).map(({ c, t }) => ({
      kind: 'unknown_entry_type',
      data: concat(Uint8Array.of(v, 2), u64(c), str(utf8('m')), Uint8Array.of(t), str(new Uint8Array(1))),
    })),
    // The server-only System type from a client.
    conv.map((c) => ({
      kind: 'system_entry_type',
      data: concat(Uint8Array.of(v, 2), u64(c), str(utf8(`sys-${c}`)), Uint8Array.of(EntryType.System), str(new Uint8Array(1))),
    })),
    conv.map((c) => ({
      kind: 'body_over_limit_prefix',
      data: concat(Uint8Array.of(v, 2), u64(c), str(utf8('m')), Uint8Array.of(1), varuint(BigInt(MAX_BODY_BYTES + 1)), new Uint8Array(16)),
    })),
    // typing/settings-style booleans that are neither 0 nor 1.
    fc
      .record({ c: conv, b: fc.integer({ min: 2, max: 255 }) })
      .map(({ c, b }) => ({ kind: 'bad_bool', data: concat(Uint8Array.of(v, 6), u64(c), Uint8Array.of(b)) })),
    // Counts far above the limits or above the bytes that follow.
    fc.constantFrom(...hugeLengths, 1025n, 20_001n).map((k) => ({ kind: 'huge_count', data: concat(Uint8Array.of(v, 7), varuint(k)) })),
    fc
      .constantFrom(...hugeLengths, 20_001n)
      .map((k) => ({ kind: 'huge_count', data: concat(Uint8Array.of(v, 1), str(utf8('tok')), varuint(k)) })),
    // A ping nonce beyond 2^53 (lib0 varuint overflow).
    fc
      .constantFrom(2n ** 53n, 2n ** 64n, 2n ** 80n)
      .map((k) => ({ kind: 'nonce_overflow', data: concat(Uint8Array.of(v, 4), varuint(k)) })),
    // Invalid UTF-8 inside strings: the decoder maps it to U+FFFD, which may grow past the byte limit.
    fc
      .record({ c: conv, n: fc.integer({ min: 1, max: MAX_CLIENT_MSG_ID_BYTES }), b: fc.constantFrom(0x80, 0xc0, 0xff, 0xfe) })
      .map(({ c, n, b }) => ({
        kind: 'invalid_utf8_client_msg_id',
        data: concat(Uint8Array.of(v, 2), u64(c), str(new Uint8Array(n).fill(b)), Uint8Array.of(1), str(new Uint8Array(1))),
      })),
  );
}

export interface FrameArbOptions {
  /** Include a frame just over MAX_FRAME_BYTES now and then (expensive: 1 MiB each). */
  readonly oversized?: boolean;
  /** Include text (non-binary) messages. */
  readonly text?: boolean;
}

/** Hostile client messages, weighted toward ones that get deep into the decoder. */
export function hostileFrameArb(pool: IdPool = EMPTY_POOL, opts: FrameArbOptions = {}): fc.Arbitrary<FuzzFrame> {
  const valid = clientFrameArb(pool).map((f) => encodeClientFrame(f));
  const arbs: fc.WeightedArbitrary<FuzzFrame>[] = [
    { weight: 6, arbitrary: valid.map((data) => ({ kind: 'valid', data })) },
    { weight: 30, arbitrary: valid.chain(mutate) },
    { weight: 10, arbitrary: outOfRange(pool) },
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }).map((data) => ({ kind: 'random_bytes', data })) },
    {
      weight: 2,
      arbitrary: fc.uint8Array({ maxLength: 62 }).map((rest) => ({
        kind: 'random_after_header',
        data: concat(Uint8Array.of(PROTOCOL_VERSION, rest[0] === undefined ? 1 : (rest[0] % 9) + 1), rest),
      })),
    },
  ];
  if (opts.text !== false)
    arbs.push({
      weight: 2,
      arbitrary: fc.oneof(fc.string(), fc.constantFrom('{"t":"hello","token":"x"}', '')).map((data) => ({ kind: 'text', data })),
    });
  if (opts.oversized) {
    arbs.push({
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 64 }).map((extra) => {
        const data = new Uint8Array(MAX_FRAME_BYTES + extra);
        data[0] = PROTOCOL_VERSION;
        data[1] = 2;
        return { kind: 'oversized', data };
      }),
    });
  }
  return fc.oneof(...arbs);
}

/** Server frames and their mutations, for the client decoder. */
export function hostileServerBytesArb(): fc.Arbitrary<Uint8Array> {
  const valid = serverFrameArb().map((f) => encodeServerFrame(f));
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: 6, arbitrary: valid.chain(mutate).map((f) => f.data as Uint8Array) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  );
}

/** What a decoder did with one input: decoded it, or refused it with a TidingsError code. */
export type DecodeOutcome = { ok: true; frame: ClientFrame | ServerFrame } | { ok: false; code: string };

/** Rough count of what a decoded frame holds (bytes, characters, list items): it must not exceed the input's size. */
export function decodedWeight(v: unknown): number {
  if (v instanceof Uint8Array) return v.length;
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + 1 + decodedWeight(x), 0);
  if (v && typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + decodedWeight(x), 0);
  return 0;
}

/**
 * The decoder property for one input: it returns a frame or throws a TidingsError
 * (anything else is a violation, returned as a message), and what it returns is no
 * bigger than its input (no allocation beyond the bytes given and the limits).
 */
export function checkDecoder(
  decode: (b: Uint8Array) => ClientFrame | ServerFrame,
  isTyped: (e: unknown) => e is { code: string },
  bytes: Uint8Array,
): DecodeOutcome | { violation: string } {
  let frame: ClientFrame | ServerFrame;
  try {
    frame = decode(bytes);
  } catch (err) {
    if (isTyped(err)) return { ok: false, code: err.code };
    return {
      violation: `non-typed error ${String((err as Error)?.name)}: ${String((err as Error)?.message)} for ${Buffer.from(bytes).toString('hex').slice(0, 200)}`,
    };
  }
  // Strings may grow a little (an unknown error code is folded into the message), never beyond 2x + a constant.
  const weight = decodedWeight(frame) - frame.t.length;
  if (weight > 2 * bytes.length + 16) return { violation: `decoded ${frame.t} weighs ${weight} from ${bytes.length} input bytes` };
  return { ok: true, frame };
}

/**
 * Decoded strings within their limits once UTF-8 encoded again (what the server
 * stores, echoes and re-encodes): clientMsgId at most MAX_CLIENT_MSG_ID_BYTES.
 */
export function stringLimitViolation(frame: ClientFrame): string | undefined {
  if (frame.t === 'send' && Buffer.byteLength(frame.clientMsgId) > MAX_CLIENT_MSG_ID_BYTES) {
    return `decoded clientMsgId is ${Buffer.byteLength(frame.clientMsgId)} UTF-8 bytes, over ${MAX_CLIENT_MSG_ID_BYTES}`;
  }
  if (frame.t === 'hello' && Buffer.byteLength(frame.token) > MAX_TOKEN_BYTES)
    return `decoded token is ${Buffer.byteLength(frame.token)} bytes`;
  return undefined;
}
