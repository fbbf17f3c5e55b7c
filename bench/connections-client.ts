/**
 * Child-process side of bench/connections.ts: holds one slice of the idle
 * devices (a socket is a file descriptor, and one process may hold only so
 * many). Connects each token (hello, wait for `synced`), starts its
 * heartbeat at a random phase, and answers the parent over IPC with counts.
 */
import { connectClient, type ProtoClient } from './proto-client.js';
import { pool } from './load-client.js';

export type ToConnClient =
  | { cmd: 'connect'; url: string; tokens: string[]; sourceAddresses: string[]; intervalMs: number; concurrency: number }
  | { cmd: 'stop-pings' }
  | { cmd: 'counts' }
  | { cmd: 'close' };

export interface ConnCounts {
  readonly connected: number;
  readonly pings: number;
  readonly pongs: number;
  readonly closes: number;
  readonly errors: number;
  readonly errorSamples: string[];
}

export type FromConnClient = { type: 'progress'; connected: number } | { type: 'connected' } | { type: 'counts'; counts: ConnCounts } | { type: 'closed' } | { type: 'error'; message: string };

const send = (m: FromConnClient) => process.send?.(m);
if (!process.send) throw new Error('connections-client.ts must be started by connections.ts (IPC)');

const clients: ProtoClient[] = [];
const timers: NodeJS.Timeout[] = [];
const errors: string[] = [];
let pings = 0;
let pongs = 0;
let closes = 0;
let nonce = 0;

async function connect(m: Extract<ToConnClient, { cmd: 'connect' }>): Promise<void> {
  await pool(m.tokens, m.concurrency, async (token, i) => {
    const c = await connectClient(
      m.url,
      token,
      {
        frame: (f) => void (f.t === 'pong' && pongs++),
        error: (what) => void (errors.length < 50 && errors.push(what)),
        closed: (code, reason) => (closes++, errors.length < 50 && errors.push(`closed ${code} ${reason}`)),
      },
      120_000,
      m.sourceAddresses[i % m.sourceAddresses.length],
    );
    clients.push(c);
    // Heartbeats start at connect, as a client's do: the server's idle timeout applies throughout.
    const tick = () => void (c.send({ t: 'ping', nonce: ++nonce }) && pings++);
    timers.push(setTimeout(() => (tick(), timers.push(setInterval(tick, m.intervalMs))), Math.random() * m.intervalMs));
    if (clients.length % 500 === 0) send({ type: 'progress', connected: clients.length });
  });
  send({ type: 'connected' });
}

process.on('message', (m: ToConnClient) => {
  void (async () => {
    if (m.cmd === 'connect') await connect(m);
    else if (m.cmd === 'stop-pings') for (const t of timers.splice(0)) clearTimeout(t);
    else if (m.cmd === 'counts') send({ type: 'counts', counts: { connected: clients.length, pings, pongs, closes, errors: errors.length, errorSamples: errors.slice(0, 3) } });
    else if (m.cmd === 'close') {
      for (const t of timers.splice(0)) clearTimeout(t);
      await pool(clients, 500, (c) => c.close());
      send({ type: 'closed' });
      setTimeout(() => process.exit(0), 100).unref();
    }
  })().catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
