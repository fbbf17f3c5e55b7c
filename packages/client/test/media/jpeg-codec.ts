/**
 * An ImageCodec for Node tests over jpeg-js (pure JS): decode JPEG, box-filter
 * downscale, encode JPEG. Browsers use browserImageCodec instead.
 */
import jpeg from 'jpeg-js';
import type { ImageCodec } from '../../src/media/index.js';

export const jpegCodec: ImageCodec = {
  async transcode(image, { maxDimension, quality }) {
    const src = jpeg.decode(new Uint8Array(await image.arrayBuffer()), { useTArray: true, formatAsRGBA: true });
    const scale = Math.min(1, maxDimension / Math.max(src.width, src.height));
    const width = Math.max(1, Math.round(src.width * scale));
    const height = Math.max(1, Math.round(src.height * scale));
    const out = new Uint8Array(width * height * 4);
    const fx = src.width / width;
    const fy = src.height / height;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const acc = [0, 0, 0];
        let n = 0;
        for (let sy = Math.floor(y * fy); sy < Math.max(Math.floor(y * fy) + 1, Math.floor((y + 1) * fy)); sy++) {
          for (let sx = Math.floor(x * fx); sx < Math.max(Math.floor(x * fx) + 1, Math.floor((x + 1) * fx)); sx++) {
            const i = (sy * src.width + sx) * 4;
            acc[0]! += src.data[i]!;
            acc[1]! += src.data[i + 1]!;
            acc[2]! += src.data[i + 2]!;
            n++;
          }
        }
        const o = (y * width + x) * 4;
        out[o] = acc[0]! / n;
        out[o + 1] = acc[1]! / n;
        out[o + 2] = acc[2]! / n;
        out[o + 3] = 255;
      }
    }
    const encoded = jpeg.encode({ data: out, width, height }, Math.round(quality * 100));
    return { blob: new Blob([new Uint8Array(encoded.data)], { type: 'image/jpeg' }), width, height };
  },
};

/** A synthetic photo-like JPEG (gradients plus noise) of the given size. */
export function syntheticJpeg(width: number, height: number, seed = 1): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = (x * 255) / width + rnd() * 40;
      data[i + 1] = (y * 255) / height + rnd() * 40;
      data[i + 2] = 128 + 100 * Math.sin((x + y) / 17) + rnd() * 40;
      data[i + 3] = 255;
    }
  }
  return new Uint8Array(jpeg.encode({ data, width, height }, 95).data);
}
