/** The CLI's global options and the one place it reads environment variables. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface GlobalOptions {
  /** Server base URL. Flag --server, env TIDINGS_SERVER, default http://localhost:8787. */
  readonly server: string;
  /** Profile directory holding credentials.json. Flag --profile, env TIDINGS_HOME, default ~/.tidings. */
  readonly profile: string;
}

export const env = {
  server: process.env.TIDINGS_SERVER,
  home: process.env.TIDINGS_HOME,
  /** Password for register/login without a prompt (scripts). */
  password: process.env.TIDINGS_PASSWORD,
};

export const DEFAULT_SERVER = env.server ?? 'http://localhost:8787';
export const DEFAULT_PROFILE = env.home ?? join(homedir(), '.tidings');

/** How long a command waits for the server (connect, catch-up, ack), in ms. */
export const DEFAULT_TIMEOUT_MS = 15_000;
