/** Streaming SHA-256 (WebCrypto's digest is one-shot, so files are hashed incrementally with @noble/hashes). */
import { sha256 } from '@noble/hashes/sha2.js';

export type Sha256 = ReturnType<typeof sha256.create>;
export const newSha256 = (): Sha256 => sha256.create();

/** A pass-through stream that feeds `h` and counts bytes. */
export function tap(h: Sha256, counter?: { bytes: number }): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, ctl) {
      h.update(chunk);
      if (counter) counter.bytes += chunk.length;
      ctl.enqueue(chunk);
    },
  });
}

/** Drain a stream, hashing it: its SHA-256 and length. */
export async function digestStream(stream: ReadableStream<Uint8Array>): Promise<{ sha256: Uint8Array; size: number }> {
  const h = newSha256();
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    h.update(value);
    size += value.length;
  }
  return { sha256: h.digest(), size };
}
