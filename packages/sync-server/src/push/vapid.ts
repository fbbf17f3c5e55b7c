/**
 * The server's VAPID key pair (RFC 8292): given by configuration, or generated
 * on first start and kept in DATA_DIR/vapid.json (mode 0600) so subscriptions
 * made against it stay valid across restarts. Nodes sharing a Postgres store
 * must be configured with the same keys (they do not share a data directory).
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import webpush from 'web-push';
import { z } from 'zod';

export interface VapidKeys {
  /** Uncompressed P-256 public key, base64url: what browsers pass as `applicationServerKey`. */
  readonly publicKey: string;
  /** P-256 private scalar, base64url. */
  readonly privateKey: string;
}

const FILE = 'vapid.json';
const Stored = z.strictObject({ publicKey: z.string().regex(/^[A-Za-z0-9_-]{87}$/), privateKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });

export async function loadVapidKeys(opts: {
  publicKey?: string | undefined;
  privateKey?: string | undefined;
  dataDir: string;
  logger: Logger;
}): Promise<VapidKeys> {
  if (opts.publicKey && opts.privateKey) return { publicKey: opts.publicKey, privateKey: opts.privateKey };
  const file = path.resolve(opts.dataDir, FILE);
  try {
    return Stored.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`unreadable VAPID key file ${file}: ${(err as Error).message}`);
  }
  const keys = webpush.generateVAPIDKeys();
  await mkdir(path.dirname(file), { recursive: true });
  // 'wx': if another process wrote it first, fail and read theirs.
  try {
    await writeFile(file, `${JSON.stringify({ publicKey: keys.publicKey, privateKey: keys.privateKey })}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return Stored.parse(JSON.parse(await readFile(file, 'utf8')));
    throw err;
  }
  opts.logger.info({ file }, 'generated VAPID keys');
  return { publicKey: keys.publicKey, privateKey: keys.privateKey };
}
