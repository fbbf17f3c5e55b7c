/**
 * @tidings/client/media — encrypted, deduplicated, resumable media.
 *
 *   const sealed = await sealFile(file, { fileName, conversationSecret, imageCodec: browserImageCodec });
 *   await http.upload(sealed); await http.attach(sealed.descriptor.blobId, conversationId);
 *   // put sealed.descriptor inside the E2EE message; the recipient calls http.download(descriptor)
 *
 * Through the engine, all of that is one call each way:
 *   const { message } = await client.sendFile(conversationId, { data: file, name: file.name }, { imageCodec: browserImageCodec });
 *   const plaintext = await client.download(message); // ReadableStream, verified as it streams
 */
export { sealFile, openSealed, type SealOptions, type SealedFile } from './seal.js';
export { parseDescriptor, type MediaDescriptor, type MediaPreview } from './descriptor.js';
export { MediaHttp, MediaHttpError, type MediaHttpOptions, type UploadResult } from './transfer.js';
export { MediaIntegrityError, DEFAULT_CHUNK_SIZE, encryptStream, decryptStream, sealedSize } from './chunk-cipher.js';
export { browserImageCodec, prepareImage, type ImageCodec, type ImageOptions, type PreparedImage } from './image.js';
export { dedupFileKey, randomFileKey } from './keys.js';
export { descriptorOf, type OutgoingFile, type SendFileOptions, type SentFile } from './send-file.js';
export { mediaTypeOf } from './media-types.js';
