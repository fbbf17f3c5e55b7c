/** The `ws` transport over a real socket on port 0, bridged to the fake server. */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ConversationKind } from '@tidings/shared';
import { NodeWebSocketTransport } from '../src/node.js';
import { FakeServer } from './support/fake-server.js';
import { cleanup, makeDevice, startSynced, texts, waitFor } from './support/harness.js';

const servers: WebSocketServer[] = [];
afterEach(async () => {
  await cleanup();
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

/** A real WebSocket endpoint whose every connection is a fake-server connection. */
async function bridge(fake: FakeServer): Promise<string> {
  const wss = new WebSocketServer({ port: 0 });
  servers.push(wss);
  wss.on('connection', (ws) => {
    const conn = fake.transport.connect('bridge');
    conn.onmessage = (bytes) => ws.send(bytes);
    conn.onclose = (code, reason) => ws.close(code, reason);
    ws.on('message', (data: Buffer) => conn.send(new Uint8Array(data)));
    ws.on('close', () => conn.close());
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected address');
  return `http://127.0.0.1:${address.port}`;
}

describe('NodeWebSocketTransport', () => {
  it('syncs and sends over a real socket, and reconnects after the server closes it', async () => {
    const fake = new FakeServer();
    const serverUrl = await bridge(fake);
    const conv = fake.createConversation(ConversationKind.Dm, [10n, 20n]);
    const a = await makeDevice(fake, 10n, 11n, { config: { serverUrl, transport: new NodeWebSocketTransport() } });
    await startSynced(a.client);
    const m = await a.client.sendText(conv, 'over ws');
    await waitFor(a.client, 'message', (x) => x.uid === m.uid && x.state === 'sent');
    const resynced = waitFor(a.client, 'synced');
    fake.closeAll(1001, 'going away');
    await resynced;
    expect(texts(await a.client.messages(conv, { limit: 5 }))).toEqual(['over ws']);
  });

  it('reports unauthenticated over a real socket and stops', async () => {
    const fake = new FakeServer();
    const serverUrl = await bridge(fake);
    const a = await makeDevice(fake, 10n, 11n, {
      config: { serverUrl, transport: new NodeWebSocketTransport(), credentials: { userId: 10n as never, deviceId: 11n as never, token: 'wrong' } },
    });
    const error = waitFor(a.client, 'error');
    a.client.start();
    expect((await error).code).toBe('unauthenticated');
    expect(a.client.status).toBe('offline');
  });
});
