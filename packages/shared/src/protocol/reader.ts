/**
 * A bounds-checked reader over lib0's decoding. Every read checks the bytes
 * that remain first and every length is checked against a caller-given limit,
 * so malformed input throws a TidingsError(invalid_frame) and never allocates
 * more than the limit.
 */
import * as decoding from 'lib0/decoding';
import { ErrorCode, TidingsError } from '../errors.js';

/** Strict: invalid UTF-8 is refused (replacement characters would change a string's size), a BOM is kept as data. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const fail = (what: string): never => {
  throw new TidingsError(ErrorCode.InvalidFrame, what);
};

export class FrameReader {
  private readonly decoder: decoding.Decoder;
  constructor(bytes: Uint8Array) {
    this.decoder = decoding.createDecoder(bytes);
  }

  private remaining(): number {
    return this.decoder.arr.length - this.decoder.pos;
  }

  private need(n: number, what: string): void {
    if (this.remaining() < n) fail(`truncated frame: ${what}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return decoding.readUint8(this.decoder);
  }

  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) fail(`${what} must be 0 or 1`);
    return v === 1;
  }

  /** A variable-length unsigned integer no larger than `max`. */
  uint(what: string, max = Number.MAX_SAFE_INTEGER): number {
    this.need(1, what);
    let v: number;
    try {
      v = decoding.readVarUint(this.decoder);
    } catch {
      return fail(`malformed integer: ${what}`);
    }
    if (v > max) fail(`${what} is ${v}, over the limit of ${max}`);
    return v;
  }

  /** A fixed 8-byte unsigned 64-bit id. */
  u64(what: string): bigint {
    this.need(8, what);
    return decoding.readBigUint64(this.decoder) as bigint;
  }

  bytes(what: string, maxBytes: number): Uint8Array {
    const len = this.uint(`${what} length`, maxBytes);
    this.need(len, what);
    // A copy, so a retained body does not pin the whole frame buffer.
    return decoding.readUint8Array(this.decoder, len).slice();
  }

  string(what: string, maxBytes: number): string {
    const len = this.uint(`${what} length`, maxBytes);
    this.need(len, what);
    try {
      return UTF8.decode(decoding.readUint8Array(this.decoder, len));
    } catch {
      return fail(`${what} is not valid UTF-8`);
    }
  }

  /** A count of following items, bounded both by `max` and by the bytes left (each item >= minItemBytes). */
  count(what: string, max: number, minItemBytes: number): number {
    const n = this.uint(`${what} count`, max);
    if (n * minItemBytes > this.remaining()) fail(`truncated frame: ${what}`);
    return n;
  }

  end(): void {
    if (this.remaining() !== 0) fail(`${this.remaining()} trailing bytes after frame`);
  }
}
