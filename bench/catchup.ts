/**
 * Issue #11 target 5: catch-up. A device that was offline while 10,000
 * messages arrived across 50 conversations is fully synced — fetched,
 * decrypted, stored, unread counts right — in under 3 s in Node.
 *
 *   npx tsx bench/catchup.ts [--conversations 50] [--messages 10000] [--size 200] [--store pglite|postgres] [--server inline|process] [--profile out.cpuprofile]
 *
 * A real server (PGlite by default, or Postgres at $DATABASE_URL /
 * 127.0.0.1:5432) and two real TidingsClient engines with MLS and Dexie
 * replicas over fake-indexeddb, as the e2e tests run them. The sender makes
 * --conversations groups with the reader, the reader joins them all, reads
 * the greeting in each and goes offline (engine stopped, replica kept). The
 * sender's engine stops too, and its stored MLS groups seal --messages texts
 * round-robin, sent over one raw protocol socket as the sender's device
 * (exactly the entries its engine would send, without its outbox pacing);
 * every one is acked before the measurement starts (bench/catchup-seed.ts,
 * shared with bench/catchup-pwa.ts). The measured interval: a fresh reader engine over the
 * kept replica, from start() until every message is stored and every
 * conversation's unread count is exact. Time to the server's `synced` frame
 * is reported too. --profile writes a V8 CPU profile of the measured
 * interval only (with `--server inline`, the default, server and client share the
 * process, as in the e2e tests; `--server process` runs the server in a child
 * process of its own, as it would be in production).
 *
 * Progress goes to stderr; exactly one JSON line goes to stdout.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { HttpApi, type TidingsClient } from '@tidings/client';
import type { ConversationId, UserId } from '@tidings/shared';
import { DEFAULTS, startServer } from '@tidings/sync-server';
import { UsageError, choice, num, parseFlags } from './args.js';
import { SETUP_TIMEOUT_MS, engine, secs, seed, type Engine } from './catchup-seed.js';
import { until } from '../packages/client/test/support/until.js';
import { DEFAULT_DATABASE_URL } from './target.js';
import { startServerChild } from './server-child.js';

const log = (msg: string): void => void process.stderr.write(`[catchup] ${msg}\n`);

/** Every conversation holds `stored` messages from the sender and shows `unread` of them unread. */
async function complete(c: TidingsClient, convs: readonly ConversationId[], stored: number, unread: number): Promise<boolean> {
  for (const conv of convs) {
    if ((await c.unreadCount(conv)) !== unread) return false;
  }
  for (const conv of convs) {
    const texts = (await c.messages(conv, { limit: stored + 10 })).filter((m) => m.content.kind === 'text');
    if (texts.length !== stored) return false;
  }
  return true;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['conversations', 'messages', 'size', 'store', 'server', 'profile']);
  if (flags.has('help')) {
    process.stderr.write('usage: npx tsx bench/catchup.ts [--conversations 50] [--messages 10000] [--size 200] [--store pglite|postgres] [--server inline|process] [--profile out.cpuprofile]\n');
    return;
  }
  const conversations = num(flags, 'conversations', 50, 1, 1000, true);
  const messages = num(flags, 'messages', 10_000, conversations, 1_000_000, true);
  const size = num(flags, 'size', 200, 16, 4096, true);
  const store = choice(flags, 'store', ['pglite', 'postgres'] as const, 'pglite');
  const perConversation = Math.ceil(messages / conversations);
  const total = perConversation * conversations;

  const serverProcess = choice(flags, 'server', ['inline', 'process'] as const, 'inline');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tidings-catchup-'));
  const databaseUrl = store === 'postgres' ? (process.env['DATABASE_URL'] ?? DEFAULT_DATABASE_URL) : undefined;
  // In production the server is another machine; `--server process` keeps its CPU out of the reader's process.
  const server =
    serverProcess === 'process'
      ? await startServerChild({ store, adminUrl: process.env['DATABASE_URL'] ?? DEFAULT_DATABASE_URL, redisUrl: undefined, log })
      : await startServer({ ...DEFAULTS, port: 0, host: '127.0.0.1', dataDir, databaseUrl, redisUrl: undefined, logLevel: 'silent', rateLimit: false, sendRatePerSecond: 1_000_000 });
  const engines: Engine[] = [];
  try {
    const api = new HttpApi({ serverUrl: server.url });
    const tag = Date.now().toString(36);
    const senderCreds = await api.register(`catchup-s-${tag}`, 'correct horse battery');
    const readerCreds = await api.register(`catchup-r-${tag}`, 'correct horse battery');
    const readerFactory = new IDBFactory();
    const senderFactory = new IDBFactory();
    const sender = await engine(server.url, senderCreds, senderFactory, 'sender');
    let reader = await engine(server.url, readerCreds, readerFactory, 'reader');
    engines.push(sender, reader);
    sender.client.start();
    reader.client.start();
    const readerApi = new HttpApi({ serverUrl: server.url, token: readerCreds.token });
    await until([reader.client], async () => (await readerApi.keyPackageStock()).stock >= conversations, SETUP_TIMEOUT_MS, 'reader KeyPackages');

    log(`creating ${conversations} groups`);
    const convs: ConversationId[] = [];
    for (let i = 0; i < conversations; i++) {
      const conv = await sender.client.createGroup(`catch-up ${i}`, [readerCreds.userId as UserId]);
      convs.push(conv);
      await sender.client.sendText(conv, `hello ${i}`);
    }
    await until([sender.client, reader.client], () => complete(reader.client, convs, 1, 1), SETUP_TIMEOUT_MS, 'reader joined every group');
    for (const conv of convs) await reader.client.markRead(conv);
    await until([reader.client], async () => (await Promise.all(convs.map((c) => reader.client.unreadCount(c)))).every((n) => n === 0), SETUP_TIMEOUT_MS, 'greetings read');
    await reader.client.whenIdle(SETUP_TIMEOUT_MS);
    await reader.stop();
    engines.splice(engines.indexOf(reader), 1);
    log('reader offline');

    await sender.stop();
    engines.splice(engines.indexOf(sender), 1);
    const sendSeconds = await seed({ serverUrl: server.url, creds: senderCreds, factory: senderFactory, replicaName: 'sender', conversations: convs, perConversation, size, log });
    log(`sender: ${total} messages acked in ${sendSeconds} s`);

    // The measured part.
    reader = await engine(server.url, readerCreds, readerFactory, 'reader');
    engines.push(reader);
    let syncedMs = -1;
    const profile = flags.get('profile');
    const inspector = profile === undefined ? undefined : new Session();
    if (inspector !== undefined) {
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.start');
    }
    const t0 = performance.now();
    reader.client.on('synced', () => {
      if (syncedMs < 0) syncedMs = performance.now() - t0;
    });
    reader.client.start();
    await until([reader.client], async () => syncedMs >= 0 && (await complete(reader.client, convs, perConversation + 1, perConversation)), SETUP_TIMEOUT_MS, 'catch-up');
    const caughtUpMs = performance.now() - t0;
    if (inspector !== undefined && profile !== undefined) {
      const { profile: cpu } = await inspector.post('Profiler.stop');
      await writeFile(profile, JSON.stringify(cpu));
      inspector.disconnect();
      log(`CPU profile of the catch-up written to ${profile}`);
    }
    log(`caught up in ${secs(caughtUpMs)} s (synced frame after ${secs(syncedMs)} s)`);
    const out = {
      bench: 'catchup',
      target: { seconds: 3 },
      store,
      server: serverProcess,
      conversations,
      messages: total,
      messageBytes: size,
      caughtUpSeconds: secs(caughtUpMs),
      syncedFrameSeconds: secs(syncedMs),
      messagesPerSecond: Math.round(total / (caughtUpMs / 1000)),
      senderSeconds: sendSeconds,
      node: process.version,
      cores: os.cpus().length,
      loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    for (const e of engines) await e.stop().catch(() => undefined);
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
