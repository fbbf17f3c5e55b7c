/**
 * Assemble one sync-server node: store, log writer, fan-out, HTTP routes and
 * the WebSocket endpoint. `startServer` is what main.ts, tests and benchmarks call.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { WebSocketServer } from 'ws';
import pino, { type Logger } from 'pino';
import { CloseCode, ErrorCode, HELLO_TIMEOUT_MS, MAX_FRAME_BYTES, MAX_HTTP_JSON_BYTES } from '@tidings/shared';
import type { ServerConfig } from './config.js';
import { openPglite } from './storage/pglite.js';
import { openPostgres } from './storage/postgres.js';
import { migrate } from './storage/migrations.js';
import type { SqlClient } from './storage/sql.js';
import { LogWriter } from './log/writer.js';
import { publishBatch } from './log/publish.js';
import { LocalSwitchboard } from './switchboard/local.js';
import { RedisSwitchboard } from './switchboard/redis.js';
import type { Switchboard } from './switchboard/port.js';
import { SqlLastSeen } from './presence/last-seen.js';
import { PrivacyStore } from './privacy/settings.js';
import { Receipts } from './receipts/service.js';
import { MembersCache } from './conversations/members-cache.js';
import { settingsRoutes } from './privacy/routes.js';
import { deliveryRoutes } from './mls/routes.js';
import { LeasedSnowflakes, NodeLease } from './cluster/lease.js';
import { serveWebApp } from './http/web-app.js';
import { installSecurity } from './http/security.js';
import { Connection, ConnState } from './sync/connection.js';
import { Accounts } from './accounts/service.js';
import { Conversations } from './conversations/service.js';
import { accountRoutes } from './accounts/routes.js';
import { deviceRoutes } from './accounts/device-routes.js';
import { conversationRoutes } from './conversations/routes.js';
import { seedRoutes } from './http/seed-api.js';
import { installErrorHandling } from './http/errors.js';
import { createMetrics } from './metrics.js';
import { createPush } from './push/index.js';
import { mediaRoutes, openMedia, type Media } from './media/index.js';
import { RETENTION_SWEEP_MS, RetentionStore } from './retention/store.js';
import { retentionRoutes } from './retention/routes.js';

export interface RunningServer {
  /** http://host:port of the listening server. */
  readonly url: string;
  readonly port: number;
  /** The Snowflake node id this node leased. */
  readonly nodeId: number;
  readonly db: SqlClient;
  readonly logger: Logger;
  /** Media uploads, references and the retention sweep (tests call media.sweep()). */
  readonly media: Media;
  /** Disappearing messages: per-conversation retention and its sweep (tests call retention.sweep(now)). */
  readonly retention: RetentionStore;
  /** Number of authenticated sockets on this node. */
  connections(): number;
  /** Graceful shutdown: stop accepting, flush pending writes, close sockets and the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger?: Logger;
  readonly clock?: () => number;
}

/** How often idle and hello timeouts are swept, in ms. One timer for all sockets. */
const SWEEP_INTERVAL_MS = 1000;
/** How long a closing server waits for devices to answer its close frame before dropping their sockets. */
const CLOSE_HANDSHAKE_MS = 2000;
const WS_PATH = '/v1/ws';

async function openStore(cfg: ServerConfig, logger: Logger): Promise<SqlClient> {
  if (cfg.databaseUrl) {
    return openPostgres({
      connectionString: cfg.databaseUrl,
      maxConnections: cfg.dbPool,
      onIdleError: (err) => logger.warn({ err }, 'idle database connection failed'),
    });
  }
  const dir = path.resolve(cfg.dataDir, 'pg');
  await mkdir(dir, { recursive: true });
  return openPglite(dir);
}

export async function startServer(cfg: ServerConfig, opts: StartOptions = {}): Promise<RunningServer> {
  // Bearer tokens never reach the logs.
  const baseLogger = opts.logger ?? pino({ level: cfg.logLevel, redact: ['req.headers.authorization', 'headers.authorization', '*.token', 'token'] });
  const clock = opts.clock ?? Date.now;
  const db = await openStore(cfg, baseLogger);
  const applied = await migrate(db);
  if (applied.length > 0) baseLogger.info({ applied, store: db.kind }, 'migrations applied');
  const lease = await NodeLease.acquire({ db, clock, logger: baseLogger, ttlMs: cfg.nodeLeaseTtlMs, wanted: cfg.nodeId }).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  const nodeId = lease.nodeId;
  const logger = baseLogger.child({ node: nodeId });
  const ids = new LeasedSnowflakes(lease, clock);
  const connections = new Set<Connection>();
  const switchboardOpts = { graceMs: cfg.presenceGraceMs, lastSeen: new SqlLastSeen(db), clock };
  const hub: Switchboard = cfg.redisUrl
    ? await RedisSwitchboard.connect({
        ...switchboardOpts,
        url: cfg.redisUrl,
        nodeId,
        keyPrefix: cfg.redisPrefix,
        routeTtlMs: cfg.routeTtlMs,
        logger,
        // Pushes from other nodes were lost while Redis was down: every device here catches up by cursor.
        onRecovered: () => {
          logger.info({ sockets: connections.size }, 'redis recovered: asking devices to resync');
          for (const c of connections) c.close(CloseCode.Resync, 'resync after an outage');
        },
      })
    : new LocalSwitchboard(switchboardOpts);
  const metrics = createMetrics(() => hub.size);
  const privacy = new PrivacyStore(db, clock);
  const receipts = new Receipts({ db, privacy, switchboard: hub, clock, logger, onFlush: (n) => metrics.receiptAcks.inc(n) });
  const members = new MembersCache(db, clock);
  const push = await createPush({ config: cfg.push, dataDir: cfg.dataDir, db, presence: hub, registry: metrics.registry, logger, clock });
  const writer = new LogWriter({
    db,
    ids,
    clock,
    logger,
    maxBatch: cfg.maxBatch,
    onCommitted: async (batch) => {
      metrics.appended.inc(batch.entries.length);
      push.service.onCommitted(batch);
      await publishBatch(hub, batch);
    },
    onBatch: (size, seconds) => {
      metrics.batchSize.observe(size);
      metrics.batchSeconds.observe(seconds);
    },
  });
  const accounts = new Accounts(db, ids, clock);
  const conversations = new Conversations({ db, ids, clock, fanout: hub });

  // Per-request info lines are off (they dominate under load); errors are logged by the error handler.
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Long path parameters reach the route's own validation (and its typed error) instead of a bare 404.
    routerOptions: { maxParamLength: 512 },
    // Errors Fastify raises before routing (a malformed URL) get the same typed error body as everything else.
    // Errors Node's HTTP parser raises before Fastify (e.g. a URL or headers over 16 KiB) get the typed body too.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify({
        error: tooLarge
          ? { code: ErrorCode.PayloadTooLarge, message: 'request line or headers are too large' }
          : { code: ErrorCode.InvalidArgument, message: 'malformed HTTP request' },
      });
      const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
      if (socket.writable) {
        socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      } else socket.destroy();
    },
    frameworkErrors: (error, _req, reply) => {
      // This hook's reply is typed for no route in particular; the body is the one every error has.
      const typed = reply as unknown as { status(code: number): { send(body: unknown): unknown } };
      void typed.status(400).send({ error: { code: ErrorCode.InvalidArgument, message: `malformed request: ${error.message}` } });
    },
    bodyLimit: MAX_HTTP_JSON_BYTES,
  });
  installErrorHandling(app);
  const security = await installSecurity(app, { corsOrigins: cfg.corsOrigins, rateLimit: cfg.rateLimit, redisUrl: cfg.redisUrl, redisPrefix: cfg.redisPrefix });
  app.get('/healthz', async (_req, reply) => {
    try {
      await db.ping();
      return { status: 'ok', store: db.kind, node: nodeId, connections: hub.size };
    } catch {
      return reply.status(503).send({ status: 'unavailable', store: db.kind });
    }
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  accountRoutes(app, accounts, db, cfg.rateLimit, security.attempts);
  conversationRoutes(app, accounts, conversations, db);
  seedRoutes(app, { accounts, conversations, writer, db, receipts, rateLimit: cfg.rateLimit });
  settingsRoutes(app, { accounts, privacy, switchboard: hub, receipts });
  deliveryRoutes(app, { accounts, db, ids, clock, switchboard: hub, suite: cfg.mlsSuite });
  deviceRoutes(app, { accounts, db, clock, switchboard: hub });
  push.routes(app, accounts);
  const media = await openMedia(cfg.media, cfg.dataDir, { db, clock, logger });
  mediaRoutes(app, { accounts, media: media.media, rateLimit: cfg.rateLimit });
  const retention = new RetentionStore(db);
  retentionRoutes(app, { accounts, store: retention, clock });

  const webApp = await serveWebApp(app, cfg.webDir);

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  const limits = {
    maxSocketBufferBytes: cfg.maxSocketBufferBytes,
    catchupHighWaterBytes: 1024 * 1024,
    maxBadFrames: 16,
    maxInflightSends: 1024,
    sendRatePerSecond: cfg.rateLimit ? cfg.sendRatePerSecond : Number.POSITIVE_INFINITY,
  };
  // Set when close() starts: a device reconnecting in that window must not get a socket the
  // shutdown has already passed over (the HTTP server's close would wait for it for good).
  let shuttingDown = false;
  // Likewise an HTTP request in flight when close() begins: answered on a keep-alive connection, the
  // socket would hold app.close() up until the keep-alive timeout (72 s). An answer sent while the node
  // shuts down says `Connection: close`, and a connection that went idle during it is closed at once
  // (a response whose headers left before the shutdown cannot say so).
  app.addHook('onSend', async (_req, reply, payload) => {
    if (shuttingDown) void reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async () => {
    if (shuttingDown) app.server.closeIdleConnections();
  });
  app.server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (shuttingDown) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (shuttingDown) {
        ws.close(CloseCode.GoingAway, 'server shutting down');
        return;
      }
      const conn = new Connection(ws, { db, accounts, conversations, writer, switchboard: hub, receipts, privacy, members, logger, clock, metrics, limits });
      connections.add(conn);
      ws.on('close', () => connections.delete(conn));
    });
  });

  const sweep = setInterval(() => {
    const now = clock();
    for (const c of connections) {
      if (c.state === ConnState.AwaitingHello && now - c.openedAt > HELLO_TIMEOUT_MS) c.close(CloseCode.HelloTimeout, 'no hello');
      else if (now - c.lastFrameAt > cfg.idleTimeoutMs) c.close(CloseCode.GoingAway, 'idle');
    }
  }, SWEEP_INTERVAL_MS);
  sweep.unref();
  const retentionSweep = setInterval(() => {
    retention.sweep(clock()).catch((error: unknown) => logger.warn({ error: String(error) }, 'retention sweep failed'));
  }, RETENTION_SWEEP_MS);
  retentionSweep.unref();
  push.service.start();

  await app.listen({ port: cfg.port, host: cfg.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.port;
  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  logger.info({ url, store: db.kind, webApp: webApp ? cfg.webDir : null }, 'tidings sync server listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    nodeId,
    db,
    logger,
    media: media.media,
    retention,
    connections: () => hub.size,
    close: () =>
      (closing ??= (async () => {
        shuttingDown = true;
        clearInterval(sweep);
        clearInterval(retentionSweep);
        // Commit what was accepted (so every ack promised is kept), then say goodbye.
        await Promise.race([Promise.all([writer.close(), receipts.close()]), new Promise((r) => setTimeout(r, cfg.shutdownGraceMs).unref())]);
        await push.service.close();
        for (const c of connections) c.close(CloseCode.GoingAway, 'server shutting down');
        await hub.close();
        await lease.release();
        wss.close();
        // A device that does not answer the close handshake must not hold the shutdown up.
        const stragglers = setTimeout(() => {
          for (const ws of wss.clients) ws.terminate();
        }, CLOSE_HANDSHAKE_MS);
        await app.close();
        clearTimeout(stragglers);
        await media.close();
        await security.close();
        await db.close();
        logger.info('tidings sync server stopped');
      })()),
  };
}
