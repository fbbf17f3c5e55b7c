/** The jpeg-js codec (shipped with the CLI) and a synthetic photo for media tests. */
import jpeg from 'jpeg-js';

export { jpegCodec } from '../../src/cli/jpeg-codec.js';

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
