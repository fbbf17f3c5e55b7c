export { startServer, type RunningServer, type StartOptions } from './server.js';
export { configFromEnv, DEFAULTS, type ServerConfig } from './config.js';
export type { SqlClient, SqlExecutor } from './storage/sql.js';
export { openPglite } from './storage/pglite.js';
export { openPostgres } from './storage/postgres.js';
export { migrate } from './storage/migrations.js';
