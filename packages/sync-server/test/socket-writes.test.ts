/**
 * What a turn sends to one socket leaves in one write system call (issue #11
 * target 1: `writev` was 42 % of the server thread at 12,000 msg/s). Here the
 * sender's own echo of its entry and its `sent` ack, sent in the same turn
 * after the commit, must reach the kernel together.
 */
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EntryType, type ConversationId } from '@tidings/shared';
import { RawClient, api, register } from './support/raw-client.js';
import { testBackend } from './support/server.js';
import { postgresReachable, STORE_KINDS } from './support/stores.js';

const pgOk = await postgresReachable();

afterEach(() => vi.restoreAllMocks());

/** Counts the server's socket writes to the client whose local port is `port`. */
function countWritesTo(port: number): { readonly count: () => number } {
  let writes = 0;
  for (const method of ['_write', '_writev'] as const) {
    const original = net.Socket.prototype[method] as (...args: unknown[]) => void;
    vi.spyOn(net.Socket.prototype, method).mockImplementation(function (this: net.Socket, ...args: unknown[]) {
      if (this.remotePort === port) writes++;
      return original.apply(this, args);
    });
  }
  return { count: () => writes };
}

describe.each(STORE_KINDS)('socket writes, on %s', (kind) => {
  it.skipIf(kind === 'postgres' && !pgOk)("the sender's echo and its sent ack leave in one write", async () => {
    const s = await (await testBackend(kind)).start();
    const [alice, bob] = [await register(s.url), await register(s.url)];
    const dm = await api(s.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token);
    const conv = BigInt(dm.json.conversation_id) as ConversationId;
    const ca = await RawClient.connect(s.url, alice.token);
    const port = (ca.ws as unknown as { _socket: net.Socket })._socket.localPort!;
    for (let i = 0; i < 3; i++) {
      const writes = countWritesTo(port);
      const echo = ca.waitFor((f) => f.t === 'entries' && f.entries.some((e) => e.clientMsgId === `m${i}`));
      const sent = ca.waitFor((f) => f.t === 'sent' && f.clientMsgId === `m${i}`);
      ca.send({ t: 'send', conversationId: conv, clientMsgId: `m${i}`, type: EntryType.Text, body: new TextEncoder().encode(`hello ${i}`) });
      await Promise.all([echo, sent]);
      expect(writes.count()).toBe(1);
      vi.restoreAllMocks();
    }
    ca.close();
  });
});
