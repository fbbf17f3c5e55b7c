/**
 * The CLI's file commands: `send <to> --file PATH [caption]` and
 * `download <from> [message-id | blob-id prefix] [--out PATH]`. Files go
 * through the engine's sendFile/download (sealed, deduplicated, resumable,
 * verified); the media type comes from the file name's extension. JPEG photos
 * are downscaled and re-encoded with the pure-JS jpeg-js codec (Node has no
 * image decoder built in); other images, and everything else, go as they are.
 */
import { createWriteStream, openAsBlob } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { ErrorCode, TidingsError } from '@tidings/shared';
import { descriptorOf } from '../media/send-file.js';
import { mediaTypeOf } from '../media/media-types.js';
import type { Message } from '../model/message.js';
import { out, send } from './commands.js';
import { jpegCodec } from './jpeg-codec.js';
import { DEFAULT_TIMEOUT_MS, type GlobalOptions } from './options.js';
import { loadProfile } from './profile.js';
import { apiFor, resolveConversation, untilSent, untilSynced, within, withSession } from './session.js';

/** How many of a conversation's latest messages `download` looks through for the file. */
export const DOWNLOAD_SEARCH_LIMIT = 10_000;
/** The longest side of a JPEG the CLI sends, in pixels (the engine's default cap is 2048). */
const CLI_IMAGE_MAX_DIMENSION = 2048;

/** `send <to> [text] [--file PATH]`: a file (text is its caption) or a text message. */
export async function sendCommand(g: GlobalOptions, to: string, text: string | undefined, file: string | undefined): Promise<void> {
  if (file !== undefined) return sendFile(g, to, file, text ?? '');
  if (text === undefined) throw new TidingsError(ErrorCode.InvalidArgument, 'nothing to send: give a text or --file PATH');
  return send(g, to, text);
}

async function openFile(path: string): Promise<Blob> {
  try {
    if (!(await stat(path)).isFile()) throw new TidingsError(ErrorCode.InvalidArgument, `${path} is not a regular file`);
    return await openAsBlob(path);
  } catch (error) {
    if (error instanceof TidingsError) throw error;
    throw new TidingsError(ErrorCode.InvalidArgument, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

export async function sendFile(g: GlobalOptions, to: string, path: string, caption: string): Promise<void> {
  const data = await openFile(path);
  const name = basename(path);
  const mediaType = mediaTypeOf(name);
  const profile = await loadProfile(g.profile);
  const conversationId = await resolveConversation(apiFor(profile), to);
  await withSession(profile, g.profile, async (session) => {
    // Caught up first, so the conversation's MLS group is current (its secret keys the file for dedup).
    await within(session, untilSynced(session), DEFAULT_TIMEOUT_MS, 'catch-up');
    const image = mediaType === 'image/jpeg' ? { imageCodec: jpegCodec, image: { maxDimension: CLI_IMAGE_MAX_DIMENSION, type: 'image/jpeg' as const } } : {};
    const r = await session.client.sendFile(conversationId, { data, name, mediaType }, { caption, ...image });
    const sent = await within(session, untilSent(session, r.message.uid), DEFAULT_TIMEOUT_MS, 'the server ack');
    // Queued: the first upload failed (network); the engine uploaded it again before the ack came.
    const how = r.queued ? 'uploaded on a retry' : r.upload.deduplicated ? 'already on the server, 0 bytes uploaded' : `${r.upload.sentBytes} bytes uploaded`;
    out(`sent ${sent.id} to ${to}: ${name} (${r.descriptor.mediaType}, ${r.descriptor.size} bytes; ${how}; blob ${r.descriptor.blobId.slice(0, 12)})`);
  });
}

/** The latest file message matching `ref`: a message id, a blob id prefix (as `history` prints it), or none for the latest file. */
export function pick(messages: readonly Message[], ref: string | undefined): Message {
  const files = messages.filter((m) => m.content.kind === 'media');
  let match: (m: Message) => boolean;
  if (ref === undefined) match = () => true;
  else if (/^\d{1,20}$/.test(ref)) match = (m) => m.id !== null && m.id.toString() === ref;
  else if (/^[0-9a-f]{6,64}$/.test(ref)) match = (m) => descriptorOf(m).blobId.startsWith(ref);
  else throw new TidingsError(ErrorCode.InvalidArgument, 'file reference must be a message id or a hex blob id prefix (6 to 64 characters)');
  const found = files.filter(match).at(-1);
  if (!found) throw new TidingsError(ErrorCode.NotFound, ref === undefined ? 'no file in this conversation' : `no file ${ref} in this conversation`);
  return found;
}

/** A sender-chosen name made safe to create in the current directory: its last path part, no leading dots. */
export function localName(fileName: string): string {
  const name = basename(fileName.replaceAll('\\', '/')).replace(/^\.+/, '').replace(/[\0-\x1f]/g, '');
  return name.length > 0 ? name : 'download';
}

export async function download(g: GlobalOptions, from: string, ref: string | undefined, opts: { out?: string }): Promise<void> {
  const profile = await loadProfile(g.profile);
  const conversationId = await resolveConversation(apiFor(profile), from);
  await withSession(profile, g.profile, async (session) => {
    await within(session, untilSynced(session), DEFAULT_TIMEOUT_MS, 'catch-up');
    const message = pick(await session.client.messages(conversationId, { limit: DOWNLOAD_SEARCH_LIMIT }), ref);
    const d = descriptorOf(message);
    const target = opts.out ?? localName(d.fileName);
    // A name chosen by the sender never replaces a file here; --out may.
    if (opts.out === undefined && (await stat(target).catch(() => null))) {
      throw new TidingsError(ErrorCode.Conflict, `${target} exists; choose another name with --out PATH`);
    }
    const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.part`);
    try {
      const plaintext = await session.client.download(message);
      await pipeline(Readable.fromWeb(plaintext as NodeReadableStream<Uint8Array>), createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
      await rename(tmp, target);
    } finally {
      await rm(tmp, { force: true });
    }
    out(`saved ${target} (${d.mediaType}, ${d.size} bytes) from message ${message.id}`);
  });
}
