/** Byte-for-byte equality for media tests, fast: vitest's deep toEqual walks a typed array element by element (seconds per MiB). */
import { expect } from 'vitest';

export function expectSameBytes(got: Uint8Array, want: Uint8Array): void {
  expect(got.length, 'length').toBe(want.length);
  expect(Buffer.compare(got, want), 'bytes differ').toBe(0);
}
