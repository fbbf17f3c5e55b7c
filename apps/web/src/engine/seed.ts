/**
 * Test builds only: fills a conversation's replica with synthetic history, so
 * the browser test of a 100,000-message conversation does not have to send
 * 100,000 MLS messages first. Rows go in through the replica's own
 * `applyEntries` (the path catch-up uses), with ids just above the
 * conversation's cursor: a real Snowflake is 2^22 ids per millisecond apart,
 * so the next real entry still sorts after them, and the server is never told.
 */
import { EntryType, type ConversationId, type DeviceId, type EntryId, type UserId } from '@tidings/shared';
import type { DexieReplica, OpenedEntry } from '@tidings/client';

/** Entries per replica transaction while seeding. */
const SEED_BATCH = 5000;
/** Most messages one seed call may write. */
export const MAX_SEED = 200_000;

const WORDS = ['tide', 'harbour', 'note', 'lantern', 'ferry', 'signal', 'morning', 'letter', 'pier', 'compass', 'weather', 'island'];

/** Text of seeded message `n` (1-based): mostly short, every 7th a few lines long, so row heights vary. */
export function seedText(n: number): string {
  const words = n % 7 === 0 ? 60 : 2 + (n % 5);
  const out = [`message ${n}`];
  for (let i = 0; i < words; i++) out.push(WORDS[(n * 31 + i * 7) % WORDS.length]!);
  return out.join(' ');
}

export async function seedHistory(
  replica: DexieReplica,
  id: ConversationId,
  self: { userId: UserId; deviceId: DeviceId },
  count: number,
  days: number,
  now: number,
): Promise<number> {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SEED) throw new RangeError(`count must be 1..${MAX_SEED}`);
  const cursor = (await replica.cursor()).get(id) ?? 0n;
  const start = now - days * 86_400_000;
  const step = (now - start) / count;
  let prev = cursor as EntryId;
  for (let from = 0; from < count; from += SEED_BATCH) {
    const batch: OpenedEntry[] = [];
    for (let i = from; i < Math.min(count, from + SEED_BATCH); i++) {
      const entryId = (cursor + BigInt(i + 1)) as EntryId;
      batch.push({
        entry: {
          conversationId: id,
          id: entryId,
          prevId: prev,
          // Own messages: they never count as unread, so opening the conversation sends no read receipt for ids the server never issued.
          senderUserId: self.userId,
          senderDeviceId: self.deviceId,
          clientMsgId: `seed-${entryId.toString()}`,
          type: EntryType.Text,
          createdAt: Math.round(start + i * step),
          body: new Uint8Array(0),
        },
        content: { kind: 'text', text: seedText(i + 1) },
      });
      prev = entryId;
    }
    await replica.applyEntries(id, batch);
  }
  return count;
}
