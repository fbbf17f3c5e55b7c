/**
 * MLSMessage framing: decode untrusted bytes into exactly one message, map
 * conversation ids to MLS group ids, and peek at a message's public header
 * (kind, group, epoch) the way the Delivery Service must to order Commits.
 */
import { conversationIdOfGroup, peekMlsHeader, type ConversationId, type MlsHeader } from '@tidings/shared';
import { decodeMlsMessage, encodeMlsMessage, type MLSMessage } from 'ts-mls';
import { E2eeError } from './errors.js';

/** Largest MLS message accepted (a Welcome into a 1,000-device group with the ratchet tree inside). */
export const MAX_MLS_MESSAGE_BYTES = 16 * 1024 * 1024;

/** The public header types and the group-id mapping are the protocol's: shared with the server. */
export type { MlsMessageKind, MlsHeader as MlsMessageHeader } from '@tidings/shared';
export { groupIdOf } from '@tidings/shared';

/** A group id as our conversation id; `unknown_group` when it is not one. */
export function conversationIdOf(groupId: Uint8Array): ConversationId {
  try {
    return conversationIdOfGroup(groupId);
  } catch (err) {
    throw new E2eeError('unknown_group', err instanceof Error ? err.message : 'group id is not a conversation id', undefined, err);
  }
}

/** Decodes exactly one MLSMessage; anything else is `invalid_message`. */
export function decodeMessage(bytes: Uint8Array): MLSMessage {
  if (bytes.length > MAX_MLS_MESSAGE_BYTES) {
    throw new E2eeError('invalid_message', `MLS message of ${bytes.length} bytes is over ${MAX_MLS_MESSAGE_BYTES}`);
  }
  let decoded: [MLSMessage, number] | undefined;
  try {
    decoded = decodeMlsMessage(bytes, 0);
  } catch (err) {
    throw new E2eeError('invalid_message', 'malformed MLS message', undefined, err);
  }
  if (decoded === undefined) throw new E2eeError('invalid_message', 'malformed MLS message');
  if (decoded[1] !== bytes.length) throw new E2eeError('invalid_message', 'trailing bytes after MLS message');
  return decoded[0];
}

export const encodeMessage = (message: MLSMessage): Uint8Array => encodeMlsMessage(message);

/**
 * The public header of a message, without decrypting anything: the one
 * parser in @tidings/shared that the server's Delivery Service uses too.
 */
export function peekMessage(bytes: Uint8Array): MlsHeader {
  try {
    return peekMlsHeader(bytes, MAX_MLS_MESSAGE_BYTES);
  } catch (err) {
    throw new E2eeError('invalid_message', err instanceof Error ? err.message : 'malformed MLS message', undefined, err);
  }
}
