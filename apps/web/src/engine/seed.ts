/**
 * Test builds only: fills a conversation's replica with synthetic history, so
 * the browser test of a 100,000-message conversation does not have to send
 * 100,000 MLS messages first. Rows go straight into the replica's IndexedDB
 * database in one transaction (the replica's own `applyEntries` does a read and
 * a write per row and takes minutes for 100,000 on the test machine), in the
 * row shape of @tidings/client's replica/dexie-rows.ts: if that shape changes,
 * the seeded rows stop reading back and the test fails loudly. Ids are just
 * above the conversation's cursor (a real Snowflake is 2^22 ids per
 * millisecond apart, so the next real entry still sorts after them); the
 * server is never told.
 */
import { EntryType, type ConversationId, type DeviceId, type UserId } from '@tidings/shared';
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

function promised<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

/** Stores `count` own text messages ("message 1" … oldest first) spread over `days` days up to `now`. */
export async function seedHistory(
  replicaName: string,
  id: ConversationId,
  self: { userId: UserId; deviceId: DeviceId },
  count: number,
  days: number,
  now: number,
): Promise<number> {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SEED) throw new RangeError(`count must be 1..${MAX_SEED}`);
  const db = await promised(indexedDB.open(replicaName));
  try {
    const tx = db.transaction(['conversations', 'messages'], 'readwrite');
    const conversations = tx.objectStore('conversations');
    const conv = (await promised(conversations.get(id.toString()))) as { cursor: string; lastId: string } | undefined;
    if (!conv) throw new Error('no such conversation in the replica');
    const cursor = BigInt(conv.cursor);
    const start = now - days * 86_400_000;
    const step = (now - start) / count;
    const messages = tx.objectStore('messages');
    for (let i = 0; i < count; i++) {
      const entryId = (cursor + BigInt(i + 1)).toString();
      const clientMsgId = `seed-${entryId}`;
      // Own messages: they never count as unread, so opening the conversation sends no read receipt for ids the server never issued.
      messages.put({
        uid: `${self.deviceId.toString()}:${clientMsgId}`,
        conversationId: id.toString(),
        seq: entryId.padStart(20, '0'),
        id: entryId,
        senderUserId: self.userId.toString(),
        senderDeviceId: self.deviceId.toString(),
        clientMsgId,
        type: EntryType.Text,
        body: new Uint8Array(0),
        content: { kind: 'text', text: seedText(i + 1) },
        createdAt: Math.round(start + i * step),
        state: 'sent',
        countable: 1,
      });
    }
    const last = (cursor + BigInt(count)).toString();
    conversations.put({ ...conv, cursor: last, lastId: BigInt(conv.lastId) > BigInt(last) ? conv.lastId : last });
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('seeding failed'));
      tx.onabort = () => reject(tx.error ?? new Error('seeding aborted'));
    });
  } finally {
    db.close();
  }
  return count;
}
