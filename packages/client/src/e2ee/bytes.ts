/**
 * A tiny length-prefixed record codec for the E2EE layer's stored blobs
 * (identity, KeyPackage secrets, group state). Every read is bounds-checked
 * and every length is capped, so corrupt input throws instead of allocating.
 */
import { E2eeError } from './errors.js';

/** Upper bound for one field: a 1,000-member group state is a few MiB. */
export const MAX_FIELD_BYTES = 64 * 1024 * 1024;

export class RecordWriter {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  private push(part: Uint8Array): this {
    this.parts.push(part);
    this.size += part.length;
    return this;
  }

  u8(value: number): this {
    return this.push(Uint8Array.of(value & 0xff));
  }

  u16(value: number): this {
    return this.push(Uint8Array.of((value >>> 8) & 0xff, value & 0xff));
  }

  u64(value: bigint): this {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, value);
    return this.push(out);
  }

  bytes(value: Uint8Array): this {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, value.length);
    return this.push(len).push(value);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

export class RecordReader {
  private at = 0;
  private readonly view: DataView;

  constructor(
    private readonly input: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }

  private need(n: number, field: string): void {
    if (this.input.length - this.at < n) {
      throw new E2eeError('invalid_message', `${this.what}: truncated at ${field}`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.at++);
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.at);
    this.at += 2;
    return v;
  }

  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.at);
    this.at += 8;
    return v;
  }

  bytes(field: string, max = MAX_FIELD_BYTES): Uint8Array {
    this.need(4, field);
    const len = this.view.getUint32(this.at);
    this.at += 4;
    if (len > max) throw new E2eeError('invalid_message', `${this.what}: ${field} is ${len} bytes, over ${max}`);
    this.need(len, field);
    const out = this.input.slice(this.at, this.at + len);
    this.at += len;
    return out;
  }

  /** Asserts the record was consumed exactly. */
  end(): void {
    if (this.at !== this.input.length) {
      throw new E2eeError('invalid_message', `${this.what}: ${this.input.length - this.at} trailing bytes`);
    }
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
