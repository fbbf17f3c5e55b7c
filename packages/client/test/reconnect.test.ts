import { afterEach, describe, expect, it } from 'vitest';
import { FakeServer } from './support/fake-server.js';
import { cleanup, makeDevice, waitFor } from './support/harness.js';
import { ManualClock } from './support/manual-clock.js';

afterEach(cleanup);

describe('reconnecting', () => {
  it('backs off exponentially with full jitter and resets after a welcome', async () => {
    const server = new FakeServer();
    server.down = true;
    const clock = new ManualClock();
    const a = await makeDevice(server, 10n, 11n, {
      config: { clock, random: () => 0.5, backoff: { baseMs: 100, maxMs: 800 }, heartbeatMs: 1_000_000 },
    });
    const reconnectTimers = () => clock.pending((ms) => ms < 1_000_000);
    const delays: number[] = [];
    const fail = async (): Promise<void> => {
      await waitFor(a.client, 'status', (s) => s === 'offline');
      const [timer] = reconnectTimers();
      delays.push(timer!.ms);
      server.down = delays.length < 6;
      clock.fire(timer!);
    };
    a.client.start();
    for (let i = 0; i < 6; i++) await fail();
    expect(delays).toEqual([50, 100, 200, 400, 400, 400]);
    await waitFor(a.client, 'synced');
    server.closeAll();
    await waitFor(a.client, 'status', (s) => s === 'offline');
    expect(reconnectTimers().map((t) => t.ms)).toEqual([50]);
  });

  it('pings every heartbeat and replaces a socket that went silent', async () => {
    const server = new FakeServer();
    const clock = new ManualClock();
    const a = await makeDevice(server, 10n, 11n, { config: { clock, heartbeatMs: 1_000, backoff: { baseMs: 10, maxMs: 10 } } });
    const synced = waitFor(a.client, 'synced');
    a.client.start();
    await synced;
    const [ping] = clock.pending((ms) => ms === 1_000);
    clock.fire(ping!);
    await new Promise((resolve) => setImmediate(resolve)); // one turn of the event loop: the ping is delivered
    expect(server.received.some((f) => f.t === 'ping')).toBe(true);
    // Nothing more arrives: the watchdog fires and a new socket replaces the old one.
    const [dead] = clock.pending((ms) => ms === 2_000);
    const offline = waitFor(a.client, 'status', (s) => s === 'offline');
    clock.fire(dead!);
    await offline;
    const resynced = waitFor(a.client, 'synced');
    clock.fire(clock.pending((ms) => ms < 1_000)[0]!);
    await resynced;
    expect(server.received.filter((f) => f.t === 'hello')).toHaveLength(2);
  });
});
