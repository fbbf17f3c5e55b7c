/** Byte plumbing for streams: a queue that hands out fixed-size pieces, and hex. */

export class ByteQueue {
  private parts: Uint8Array[] = [];
  length = 0;

  push(b: Uint8Array): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.length += b.length;
  }

  /** Remove and return the first `n` bytes (n ≤ length). */
  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const head = this.parts[0]!;
      const k = Math.min(head.length, n - off);
      out.set(head.subarray(0, k), off);
      off += k;
      if (k === head.length) this.parts.shift();
      else this.parts[0] = head.subarray(k);
    }
    this.length -= n;
    return out;
  }
}

/** Re-cut a byte stream into pieces of exactly `size` bytes (the last may be shorter; an empty stream yields nothing). */
export async function* fixedPieces(stream: ReadableStream<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  const q = new ByteQueue();
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      q.push(value);
      while (q.length >= size) yield q.take(size);
    }
    if (q.length > 0) yield q.take(q.length);
  } finally {
    reader.releaseLock();
  }
}

export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

export const toBase64Url = (b: Uint8Array): string => {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

export const fromBase64Url = (s: string): Uint8Array => {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
};
