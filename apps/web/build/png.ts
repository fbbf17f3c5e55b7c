/** A tiny PNG encoder (RGBA, no filtering) over node:zlib, for the app icons made at build time. */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encodes a size x size image; `pixel(x, y)` returns [r, g, b, a] in 0..255. */
export function encodePng(size: number, pixel: (x: number, y: number) => readonly [number, number, number, number]): Buffer {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    const row = y * (size * 4 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < size; x++) raw.set(pixel(x, y), row + 1 + x * 4);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array())]);
}

/**
 * The Tidings icon: a white speech bubble on teal. `maskable` fills the whole
 * square (the platform cuts the shape) and keeps the bubble in the safe zone.
 */
export function iconPng(size: number, maskable: boolean): Buffer {
  const teal = [15, 118, 110, 255] as const;
  const white = [255, 255, 255, 255] as const;
  const clear = [0, 0, 0, 0] as const;
  const s = size;
  const radius = maskable ? 0 : s * 0.22;
  const scale = maskable ? 0.72 : 1;
  const cx = s / 2;
  const cy = s * 0.47;
  const bw = s * 0.3 * scale;
  const bh = s * 0.22 * scale;
  // Anti-aliasing by 4x4 supersampling.
  const inside = (x: number, y: number): 'bg' | 'bubble' | 'none' => {
    const rx = Math.max(radius - x, x - (s - radius), 0);
    const ry = Math.max(radius - y, y - (s - radius), 0);
    if (radius > 0 && rx * rx + ry * ry > radius * radius) return 'none';
    const ex = (x - cx) / bw;
    const ey = (y - cy) / bh;
    if (ex * ex + ey * ey <= 1) return 'bubble';
    // The tail: a triangle below-left of the ellipse.
    const tx = cx - bw * 0.55;
    const ty = cy + bh * 0.6;
    const u = (x - tx) / (bw * 0.35);
    const v = (y - ty) / (bh * 0.75);
    if (u >= 0 && v >= 0 && u + v <= 1 && v <= 1) return 'bubble';
    return 'bg';
  };
  return encodePng(s, (x, y) => {
    let bg = 0;
    let bubble = 0;
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) {
        const hit = inside(x + (i + 0.5) / 4, y + (j + 0.5) / 4);
        if (hit === 'bg') bg++;
        else if (hit === 'bubble') bubble++;
      }
    const n = bg + bubble;
    if (n === 0) return clear;
    const mix = (k: number) => Math.round((teal[k]! * bg + white[k]! * bubble) / n);
    return [mix(0), mix(1), mix(2), Math.round((255 * n) / 16)] as const;
  });
}
