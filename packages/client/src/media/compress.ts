/** Compress non-media files with gzip (CompressionStream) when a sample shows it pays. */

/** Types already compressed: never worth another pass. */
const INCOMPRESSIBLE = /^(image|audio|video)\/|^application\/(zip|gzip|x-gzip|x-7z-compressed|x-rar-compressed|x-bzip2|x-xz|zstd|octet-stream\+zip)$/;
const SAMPLE_BYTES = 256 * 1024;
/** Compress only if the sample shrinks to this fraction or less. */
const WORTH_IT = 0.9;

export async function gzipPays(file: Blob, mediaType: string): Promise<boolean> {
  if (INCOMPRESSIBLE.test(mediaType) || file.size < 512) return false;
  const sample = file.slice(0, SAMPLE_BYTES);
  const packed = await new Response(sample.stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
  return packed.byteLength <= sample.size * WORTH_IT;
}
