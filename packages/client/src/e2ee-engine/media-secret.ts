/**
 * The per-conversation secret media keys are derived from for dedup
 * (media/keys.ts): the MLS exporter secret of the group's current epoch
 * (RFC 9420 §8.5) under a label of our own. Every member of the epoch
 * derives the same bytes and the server cannot, so the same file sent
 * again in the conversation becomes the same blob (uploaded once) while the
 * server cannot link it to the same file anywhere else. It changes with
 * every Commit (membership change), so dedup holds within an epoch: after a
 * member joins or leaves, a re-send is a new blob — the price of not keeping
 * a secret outside MLS's forward secrecy.
 */
import type { ConversationId } from '@tidings/shared';
import type { GroupCache } from './groups.js';

export const MEDIA_EXPORTER_LABEL = 'tidings media dedup v1';
const SECRET_BYTES = 32;

/** The conversation's media secret, or undefined when this device has no active group for it yet (then keys are random). */
export async function mediaSecret(groups: GroupCache, conversationId: ConversationId): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const group = await groups.get(conversationId);
  if (!group || !group.active) return undefined;
  const context = new TextEncoder().encode(String(conversationId));
  return new Uint8Array(await group.exportSecret(MEDIA_EXPORTER_LABEL, context, SECRET_BYTES));
}
