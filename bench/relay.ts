/**
 * The reference point for the load benchmark: a bare `ws` relay with no
 * storage, no auth and no ordering beyond TCP. Clients connect to `/?id=N`
 * and send binary messages whose first 4 bytes are the target client id
 * (uint32 big-endian); the relay forwards the bytes unchanged to that client.
 *
 * Standalone: `npx tsx bench/relay.ts [port]` (127.0.0.1, default port 0).
 */
import { pathToFileURL } from 'node:url';
import { WebSocketServer, WS_OPEN, type WsSocket } from './ws.js';

export interface RunningRelay {
  /** ws://127.0.0.1:port */
  readonly url: string;
  readonly port: number;
  /** Messages dropped because the target was not connected (or was malformed). */
  dropped(): number;
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export async function startRelay(port = 0, host = '127.0.0.1'): Promise<RunningRelay> {
  const wss = new WebSocketServer({ host, port, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const byId = new Map<number, WsSocket>();
  let dropped = 0;
  wss.on('connection', (ws, req) => {
    const raw = new URL(req.url ?? '/', 'http://x').searchParams.get('id');
    const id = raw !== null && /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(id) || id > 0xffffffff) {
      ws.close(1008, 'need ?id=<uint32>');
      return;
    }
    byId.get(id)?.close(1000, 'replaced');
    byId.set(id, ws);
    ws.on('message', (data, isBinary) => {
      const target = isBinary && data.length >= 4 ? byId.get(data.readUInt32BE(0)) : undefined;
      if (!target || target.readyState !== WS_OPEN) {
        dropped++;
        return;
      }
      target.send(data, { binary: true });
    });
    ws.on('close', () => {
      if (byId.get(id) === ws) byId.delete(id);
    });
    ws.on('error', () => {});
  });
  const address = wss.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  let closing: Promise<void> | undefined;
  return {
    url: `ws://${host}:${bound}`,
    port: bound,
    dropped: () => dropped,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      })),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = process.argv[2] ?? '0';
  const port = Number(arg);
  if (!/^\d+$/.test(arg) || port > 65535) {
    process.stderr.write(`usage: tsx bench/relay.ts [port]  (got ${JSON.stringify(arg)})\n`);
    process.exit(2);
  }
  const relay = await startRelay(port);
  process.stdout.write(`relay listening on ${relay.url}\n`);
  const stop = () => void relay.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
