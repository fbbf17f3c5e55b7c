/**
 * Test files for the media suites: audio, video and PDF shaped like the real
 * formats, each carrying MARKER so a plaintext scan of the blob store has
 * something to look for, plus deterministic noise and stream helpers.
 */
export { expectSameBytes } from '../../../client/test/media/same-bytes.js';

export const MARKER = 'TIDINGS-PLAINTEXT-MARKER-7f3a9c';
export const enc = new TextEncoder();
export const collect = async (s: ReadableStream<Uint8Array>): Promise<Uint8Array> => new Uint8Array(await new Response(s).arrayBuffer());
export const blobOf = (b: Uint8Array, type: string) => new Blob([b as Uint8Array<ArrayBuffer>], { type });

/** Deterministic filler so files are large enough for several chunks. */
export function noise(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) b[i] = (s = (s * 1103515245 + 12345) & 0x7fffffff) >>> 16;
  return b;
}
export const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** A small WAV: RIFF header, then a sine wave; the marker in a LIST chunk. */
export function syntheticWav(seconds: number): Uint8Array {
  const rate = 8000;
  const samples = rate * seconds;
  const info = enc.encode(`INFOICMT${MARKER}`);
  const h = new DataView(new ArrayBuffer(44));
  const w = (o: number, s: string) => [...s].forEach((c, i) => h.setUint8(o + i, c.charCodeAt(0)));
  w(0, 'RIFF'); h.setUint32(4, 36 + samples * 2 + 8 + info.length, true); w(8, 'WAVE'); w(12, 'fmt ');
  h.setUint32(16, 16, true); h.setUint16(20, 1, true); h.setUint16(22, 1, true); h.setUint32(24, rate, true);
  h.setUint32(28, rate * 2, true); h.setUint16(32, 2, true); h.setUint16(34, 16, true); w(36, 'data'); h.setUint32(40, samples * 2, true);
  const pcm = new DataView(new ArrayBuffer(samples * 2));
  for (let i = 0; i < samples; i++) pcm.setInt16(i * 2, Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / rate) + ((i * 7919) % 200)), true);
  const list = new DataView(new ArrayBuffer(8));
  [...'LIST'].forEach((c, i) => list.setUint8(i, c.charCodeAt(0)));
  list.setUint32(4, info.length, true);
  return concat(new Uint8Array(h.buffer), new Uint8Array(pcm.buffer), new Uint8Array(list.buffer), info);
}

/** An MP4-shaped file: ftyp and udta boxes (with the marker) and an mdat of pseudo-random "frames". */
export function syntheticMp4(bytes: number): Uint8Array {
  const box = (type: string, body: Uint8Array) => {
    const b = new Uint8Array(8 + body.length);
    new DataView(b.buffer).setUint32(0, b.length);
    b.set(enc.encode(type), 4);
    b.set(body, 8);
    return b;
  };
  return concat(box('ftyp', enc.encode('isom\0\0\x02\0isomiso2mp41')), box('udta', enc.encode(MARKER)), box('mdat', noise(bytes, 99)));
}

/** A minimal one-page PDF whose text is the marker, padded with a long stream. */
export function syntheticPdf(): Uint8Array {
  const text = `BT /F1 12 Tf 72 720 Td (${MARKER}) Tj ET\n` + 'q 0.5 g 10 10 100 100 re f Q\n'.repeat(4000);
  return enc.encode(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n` +
      `3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj\n` +
      `4 0 obj << /Length ${text.length} >> stream\n${text}endstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
  );
}
