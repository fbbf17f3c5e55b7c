/**
 * An ImageCodec for Node (the CLI, and tests) over jpeg-js, pure JS: decode
 * JPEG, box-filter downscale, encode JPEG. It reads JPEG only, so the CLI
 * re-encodes JPEG photos and sends other images as they are. Browsers use
 * browserImageCodec (any format the browser decodes) instead.
 */
import jpeg from 'jpeg-js';
import type { ImageCodec } from '../media/image.js';

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
