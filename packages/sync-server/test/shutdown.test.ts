/**
 * Shutting a node down while devices reconnect: close() must finish. A socket
 * upgraded after close() had closed the open connections was never closed,
 * and the HTTP server's close waited for it for good (what hung client.e2e's
 * "outbox across a restart" test on a loaded machine).
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { testBackend } from './support/server.js';
import { postgresReachable, STORE_KINDS } from './support/stores.js';

const pgOk = await postgresReachable();

/** A TCP connection to the server, the WebSocket upgrade request not yet sent. */
async function connectedSocket(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Sends a WebSocket upgrade request; resolves with the response's status line, or 'closed' if the server hung up without one. */
function upgrade(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n');
      if (end >= 0) resolve(head.slice(0, end));
    });
    socket.on('close', () => resolve('closed'));
    socket.on('error', () => undefined);
    socket.write(
      'GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
}

describe.each(STORE_KINDS)('server shutdown with a device reconnecting, on %s', (kind) => {
  it.skipIf(kind === 'postgres' && !pgOk)('refuses a WebSocket upgrade that arrives once close() has begun, and close() finishes', async () => {
    const backend = await testBackend(kind);
    const s = await backend.start();
    const socket = await connectedSocket(s.port);
    const closed = s.close().then(() => 'closed' as const);
    // Before the fix this upgrade was accepted (101) and close() then waited on its socket for good.
    expect(await upgrade(socket)).toBe('HTTP/1.1 503 Service Unavailable');
    const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000).unref());
    expect(await Promise.race([closed, hung])).toBe('closed');
    socket.destroy();
  }, 30_000);
});
