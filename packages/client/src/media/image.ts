/**
 * Images are downscaled and re-encoded before upload (which also drops EXIF,
 * e.g. GPS), with a tiny preview for the message. Decoding and encoding go
 * through the ImageCodec port: `browserImageCodec` (createImageBitmap +
 * OffscreenCanvas) in browsers and workers; Node callers inject their own.
 */
import type { MediaPreview } from './descriptor.js';
import { toBase64Url } from './bytes.js';

export type ImageOutputType = 'image/webp' | 'image/jpeg';

export interface ImageCodec {
  /** Decode `image`, scale it to fit within maxDimension × maxDimension (never up), encode it as `type` (or the nearest the codec has). */
  transcode(image: Blob, opts: { maxDimension: number; type: ImageOutputType; quality: number }): Promise<{ blob: Blob; width: number; height: number }>;
}

export const browserImageCodec: ImageCodec = {
  async transcode(image, { maxDimension, type, quality }) {
    const bitmap = await createImageBitmap(image, { imageOrientation: 'from-image' });
    try {
      const scale = Math.min(1, maxDimension / Math.max(bitmap.width, bitmap.height));
      const width = Math.max(1, Math.round(bitmap.width * scale));
      const height = Math.max(1, Math.round(bitmap.height * scale));
      const canvas = new OffscreenCanvas(width, height);
      const ctx = canvas.getContext('2d');
      if (!ctx) throw new Error('no 2d canvas context');
      ctx.drawImage(bitmap, 0, 0, width, height);
      return { blob: await canvas.convertToBlob({ type, quality }), width, height };
    } finally {
      bitmap.close();
    }
  },
};

export interface ImageOptions {
  /** Longest side of the sent image, in pixels. Default 2048. */
  readonly maxDimension?: number;
  /** Size cap of the sent image, in bytes: quality, then dimensions, step down until it fits. Default 1 MiB. */
  readonly maxBytes?: number;
  /** Output format. Default image/webp. */
  readonly type?: ImageOutputType;
  /** Longest side of the preview, in pixels. Default 32. */
  readonly previewDimension?: number;
}

export interface PreparedImage {
  readonly blob: Blob;
  readonly mediaType: string;
  readonly width: number;
  readonly height: number;
  readonly preview: MediaPreview;
}

export async function prepareImage(image: Blob, codec: ImageCodec, opts: ImageOptions = {}): Promise<PreparedImage> {
  const type = opts.type ?? 'image/webp';
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  let maxDimension = opts.maxDimension ?? 2048;
  let quality = 0.82;
  let out = await codec.transcode(image, { maxDimension, type, quality });
  for (let tries = 0; out.blob.size > maxBytes && tries < 12; tries++) {
    if (quality > 0.45) quality -= 0.12;
    else maxDimension = Math.max(64, Math.floor(maxDimension * 0.75));
    out = await codec.transcode(image, { maxDimension, type, quality });
  }
  const dim = opts.previewDimension ?? 32;
  const p = await codec.transcode(out.blob, { maxDimension: dim, type, quality: 0.4 });
  return {
    blob: out.blob,
    mediaType: out.blob.type || type,
    width: out.width,
    height: out.height,
    preview: { mediaType: p.blob.type || type, data: toBase64Url(new Uint8Array(await p.blob.arrayBuffer())), width: p.width, height: p.height },
  };
}
