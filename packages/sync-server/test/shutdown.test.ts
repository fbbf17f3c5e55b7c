/**
 * Shutting a node down while devices reconnect: close() must finish. A socket
 * upgraded after close() had closed the open connections was never closed,
 * and the HTTP server's close waited for it for good (what hung client.e2e's
 * "outbox across a restart" test on a loaded machine). Likewise an HTTP
 * request in flight when close() begins: its keep-alive connection held
 * close() up until the keep-alive timeout (72 s) once the answer was sent
 * (bench/catchup.ts on Postgres, whose engines' device-list requests were
 * still in flight when it closed the server).
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

/** Reads one HTTP response head from the socket; resolves with the head, or what arrived before the server hung up. */
function responseHead(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end >= 0) resolve(head.slice(0, end));
    });
    socket.on('close', () => resolve(head));
    socket.on('error', () => undefined);
  });
}

/** Sends a WebSocket upgrade request; resolves with the response's status line, or 'closed' if the server hung up without one. */
async function upgrade(socket: net.Socket): Promise<string> {
  const head = responseHead(socket);
  socket.write(
    'GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  return (await head).split('\r\n')[0] || 'closed';
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

  it.skipIf(kind === 'postgres' && !pgOk)('answers a request in flight when close() begins, on a connection it then closes, and close() finishes', async () => {
    const backend = await testBackend(kind);
    const s = await backend.start();
    const socket = await connectedSocket(s.port);
    const body = JSON.stringify({ username: `shutdown-${Date.now().toString(36)}`, password: 'correct horse battery' });
    const cut = 10;
    const head = responseHead(socket);
    socket.write(`POST /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, cut)}`);
    await new Promise((r) => setTimeout(r, 200)); // the request is routed and waits for the rest of its body
    const closed = s.close().then(() => 'closed' as const);
    await new Promise((r) => setTimeout(r, 200));
    socket.write(body.slice(cut));
    const answer = await head;
    // The request was accepted before close() began: it gets an answer (a typed 503 once the node has
    // given up its id lease, which the client retries elsewhere), not a dropped connection.
    expect(answer).toMatch(/^HTTP\/1\.1 \d{3} /);
    expect(answer.toLowerCase()).toContain('connection: close');
    // Before the fix the answer kept the connection alive, and close() waited for the keep-alive timeout (72 s).
    const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000).unref());
    expect(await Promise.race([closed, hung])).toBe('closed');
    socket.destroy();
  }, 30_000);
});
