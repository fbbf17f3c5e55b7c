#!/usr/bin/env -S npx tsx
/** Start one sync-server node from the environment; stop gracefully on SIGINT/SIGTERM. */
import { configFromEnv } from './config.js';
import { startServer } from './server.js';

let config;
try {
  config = configFromEnv(process.env);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
const server = await startServer(config);
process.stdout.write(`Tidings is running at ${server.url.replace('127.0.0.1', 'localhost')}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        server.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
