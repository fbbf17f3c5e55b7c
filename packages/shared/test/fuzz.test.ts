/**
 * Decoder fuzzing (fast subset; bench/fuzz.ts runs millions): any bytes either
 * decode or throw a TidingsError, never anything else, and never decode into
 * more than the input holds. Valid frames round-trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  MAX_FRAME_BYTES,
  TidingsError,
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  isErrorCode,
} from '../src/index.js';
import {
  checkDecoder,
  clientFrameArb,
  hostileFrameArb,
  hostileServerBytesArb,
  serverFrameArb,
  stringLimitViolation,
} from '../../sync-server/test/support/fuzz-frames.js';

const isTyped = (e: unknown): e is TidingsError => e instanceof TidingsError && isErrorCode(e.code);
const RUNS = Number(process.env.FUZZ_RUNS ?? 20_000);

function holds(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): void {
  const r = checkDecoder(decode as never, isTyped, bytes);
  if ('violation' in r) throw new Error(r.violation);
}

describe('frame decoders under hostile input', () => {
  it('client decoder: random bytes decode or throw TidingsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (b) => holds(decodeClientFrame, b)),
      { numRuns: RUNS },
    );
  });

  it('client decoder: mutated, truncated, extended and out-of-range frames', () => {
    fc.assert(
      fc.property(hostileFrameArb(undefined, { text: false }), (f) => holds(decodeClientFrame, f.data as Uint8Array)),
      { numRuns: RUNS },
    );
  });

  it('server decoder (the client side): random and mutated frames', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (b) => holds(decodeServerFrame, b)),
      { numRuns: RUNS / 2 },
    );
    fc.assert(
      fc.property(hostileServerBytesArb(), (b) => holds(decodeServerFrame, b)),
      { numRuns: RUNS },
    );
  });

  // A leading U+FEFF is dropped by the decoder (see the BOM repro below), so round trips skip it.
  const noBom = (f: unknown): boolean =>
    !JSON.stringify(f, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? [] : v)).includes('"\ufeff');
  /** A comparable form (vitest's deep equality walks 512 KiB bodies element by element). */
  const canon = (f: unknown): string =>
    JSON.stringify(f, (_k, v: unknown) =>
      typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
    );
  it('valid frames round-trip', () => {
    fc.assert(
      fc.property(clientFrameArb().filter(noBom), (f) => {
        expect(canon(decodeClientFrame(encodeClientFrame(f)))).toBe(canon(f));
      }),
      { numRuns: RUNS / 10 },
    );
    // Inbox items of 27 bytes (createdAt < 128, empty body) hit the count bug (repro below), so they are skipped here.
    const noTinyInbox = (f: { t: string; items?: readonly { createdAt?: number }[] }) =>
      f.t !== 'inbox' || (f.items ?? []).every((i) => (i.createdAt ?? 0) >= 128);
    fc.assert(
      fc.property(
        serverFrameArb()
          .filter(noBom)
          .filter((f) => noTinyInbox(f as never)),
        (f) => {
          expect(canon(decodeServerFrame(encodeServerFrame(f)))).toBe(canon(f));
        },
      ),
      { numRuns: RUNS / 10 },
    );
  });

  it('oversized input is refused before it is read', () => {
    const big = new Uint8Array(MAX_FRAME_BYTES + 1);
    big[0] = 1;
    for (const decode of [decodeClientFrame, decodeServerFrame]) {
      expect(() => decode(big)).toThrow(expect.objectContaining({ code: ErrorCode.PayloadTooLarge }) as never);
    }
  });

  // BUG (reported, not fixed here): FrameReader.string decodes invalid UTF-8 to U+FFFD (3 bytes each),
  // so a 64-byte clientMsgId of 0xff bytes decodes to 192 UTF-8 bytes. The server then stores it and
  // cannot encode `sent`/`error`/`entries` frames carrying it. Flip to `it` once the decoder is strict.
  it('decoded strings stay within their byte limits (invalid UTF-8 is refused)', () => {
    fc.assert(
      fc.property(hostileFrameArb(undefined, { text: false }), (f) => {
        let frame;
        try {
          frame = decodeClientFrame(f.data as Uint8Array);
        } catch {
          return;
        }
        const v = stringLimitViolation(frame);
        if (v) throw new Error(v);
      }),
      { numRuns: RUNS },
    );
  });

  it('repro: 64 bytes of 0xff as clientMsgId decode to a 192-byte id the server cannot echo', () => {
    const frame = Uint8Array.from([1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 64, ...new Array<number>(64).fill(0xff), 1, 1, 0]);
    let f;
    try {
      f = decodeClientFrame(frame);
    } catch (err) {
      expect(err).toBeInstanceOf(TidingsError); // the fixed behaviour: refused as invalid_frame
      return;
    }
    if (f.t !== 'send') throw new Error('expected a send');
    encodeServerFrame({ t: 'error', code: ErrorCode.NotAMember, message: 'x', ref: f.clientMsgId });
    expect(Buffer.byteLength(f.clientMsgId)).toBeLessThanOrEqual(64);
  });

  // BUG (reported): TextDecoder strips a leading byte-order mark, so "\uFEFFabc" arrives as "abc" — two
  // different clientMsgIds (idempotency keys) or tokens decode to the same string. Flip to `it` once fixed.
  it('repro: a leading U+FEFF survives decoding', () => {
    const f = decodeClientFrame(
      encodeClientFrame({ t: 'send', conversationId: 1n as never, clientMsgId: '\uFEFFm1', type: 1, body: new Uint8Array(0) }),
    );
    expect(f.t === 'send' && f.clientMsgId).toBe('\uFEFFm1');
  });

  // BUG (reported): the inbox decoder counts items as at least 28 bytes, but the smallest item is 27
  // (3 ids, kind, a one-byte createdAt, an empty body), so a valid frame is refused as truncated.
  it('repro: an inbox frame with one minimal item round-trips', () => {
    const f = {
      t: 'inbox' as const,
      items: [{ id: 1n, senderUserId: 1n as never, senderDeviceId: 1n as never, kind: 1 as const, createdAt: 0, body: new Uint8Array(0) }],
    };
    expect(decodeServerFrame(encodeServerFrame(f)).t).toBe('inbox');
  });
});
