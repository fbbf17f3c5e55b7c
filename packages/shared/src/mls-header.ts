/**
 * The public header of an MLS message (RFC 9420 MLSMessage framing): what the
 * Delivery Service may read without any key — the wire format, the group
 * (our conversation id as 8 big-endian bytes), the epoch and the content type.
 * The server uses it to accept at most one Commit per epoch; clients use it
 * to route messages to groups.
 */
import { decodeMlsMessage, type MLSMessage } from 'ts-mls';
import { ErrorCode, TidingsError } from './errors.js';
import type { ConversationId } from './ids.js';
import { MAX_BODY_BYTES } from './limits.js';

export type MlsMessageKind = 'commit' | 'proposal' | 'application' | 'welcome' | 'key_package' | 'group_info';

export interface MlsHeader {
  readonly kind: MlsMessageKind;
  /** The conversation (MLS group) of handshake, application and group-info messages. */
  readonly conversationId?: ConversationId;
  /** The epoch the message was sent in. */
  readonly epoch?: bigint;
}

/** A conversation id as its 8-byte big-endian MLS group id. */
export function groupIdOf(conversationId: ConversationId): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, conversationId);
  return out;
}

const bad = (message: string): never => {
  throw new TidingsError(ErrorCode.InvalidArgument, message);
};

export function conversationIdOfGroup(groupId: Uint8Array): ConversationId {
  if (groupId.length !== 8) bad(`MLS group id has ${groupId.length} bytes, not 8`);
  const id = new DataView(groupId.buffer, groupId.byteOffset, 8).getBigUint64(0);
  if (id === 0n || id >= 1n << 63n) bad('MLS group id is not a conversation id');
  return id as ConversationId;
}

/** Decode exactly one MLSMessage from untrusted bytes, or throw invalid_argument. */
export function decodeMlsOnce(bytes: Uint8Array, maxBytes = MAX_BODY_BYTES): MLSMessage {
  if (bytes.length > maxBytes) bad(`MLS message of ${bytes.length} bytes is over ${maxBytes}`);
  let decoded: [MLSMessage, number] | undefined;
  try {
    decoded = decodeMlsMessage(bytes, 0);
  } catch {
    return bad('malformed MLS message');
  }
  if (decoded === undefined) return bad('malformed MLS message');
  if (decoded[1] !== bytes.length) bad('trailing bytes after MLS message');
  return decoded[0];
}

export function peekMlsHeader(bytes: Uint8Array, maxBytes = MAX_BODY_BYTES): MlsHeader {
  const m = decodeMlsOnce(bytes, maxBytes);
  switch (m.wireformat) {
    case 'mls_private_message': {
      const { contentType, groupId, epoch } = m.privateMessage;
      return { kind: contentType, conversationId: conversationIdOfGroup(groupId), epoch };
    }
    case 'mls_public_message': {
      const { contentType, groupId, epoch } = m.publicMessage.content;
      return { kind: contentType, conversationId: conversationIdOfGroup(groupId), epoch };
    }
    case 'mls_welcome':
      return { kind: 'welcome' };
    case 'mls_key_package':
      return { kind: 'key_package' };
    case 'mls_group_info':
      return { kind: 'group_info', conversationId: conversationIdOfGroup(m.groupInfo.groupContext.groupId), epoch: m.groupInfo.groupContext.epoch };
    default: {
      const never: never = m;
      return bad(`unknown MLS wire format ${String((never as { wireformat: string }).wireformat)}`);
    }
  }
}

/** The device a KeyPackage claims to be (its Basic credential's identity "userId:deviceId"). */
export function keyPackageDevice(bytes: Uint8Array, maxBytes: number): { userId: bigint; deviceId: bigint } {
  const m = decodeMlsOnce(bytes, maxBytes);
  if (m.wireformat !== 'mls_key_package') return bad('not an MLS KeyPackage');
  const cred = m.keyPackage.leafNode.credential;
  if (cred.credentialType !== 'basic') return bad('KeyPackages must carry a Basic credential');
  const match = /^([1-9][0-9]{0,18}):([1-9][0-9]{0,18})$/.exec(new TextDecoder().decode(cred.identity));
  if (!match) return bad('the credential identity must be "userId:deviceId"');
  return { userId: BigInt(match[1]!), deviceId: BigInt(match[2]!) };
}
