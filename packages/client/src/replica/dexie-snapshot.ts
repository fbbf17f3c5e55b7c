/**
 * A whole-database snapshot of a Dexie replica as bytes: every row of every
 * table, as JSON with byte arrays tagged `{"$bytes": base64}`. Used by Node
 * processes (the CLI) whose IndexedDB is in memory to keep the replica — and
 * with it the device's MLS keys — in a file between runs.
 */
import type { Dexie } from 'dexie';
import { fromBase64, toBase64 } from '@tidings/shared';

const SNAPSHOT_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });


const replacer = (_key: string, value: unknown): unknown => (value instanceof Uint8Array ? { $bytes: toBase64(value) } : value);
function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const bytes = (value as { $bytes?: unknown }).$bytes;
    if (typeof bytes === 'string' && Object.keys(value).length === 1) return fromBase64(bytes);
  }
  return value;
}

export async function exportTables(db: Dexie): Promise<Uint8Array> {
  const tables: Record<string, unknown[]> = {};
  await db.transaction('r', db.tables, async () => {
    for (const table of db.tables) tables[table.name] = await table.toArray();
  });
  return encoder.encode(JSON.stringify({ version: SNAPSHOT_VERSION, tables }, replacer));
}

export async function importTables(db: Dexie, bytes: Uint8Array): Promise<void> {
  const parsed = JSON.parse(decoder.decode(bytes), reviver) as { version?: unknown; tables?: Record<string, unknown[]> };
  if (parsed.version !== SNAPSHOT_VERSION || typeof parsed.tables !== 'object') throw new TypeError('not a replica snapshot');
  const tables = parsed.tables;
  await db.transaction('rw', db.tables, async () => {
    for (const table of db.tables) {
      await table.clear();
      const rows = tables[table.name];
      if (Array.isArray(rows) && rows.length > 0) await table.bulkPut(rows);
    }
  });
}
