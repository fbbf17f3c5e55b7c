/**
 * A tiny round-robin TCP proxy for running several nodes on one machine (local
 * use and tests only; production puts a real load balancer in front). Each new
 * connection goes to the next backend that accepts it; a dead backend is
 * skipped. WebSocket upgrades pass through untouched since it is plain TCP.
 */
import net from 'node:net';

export interface Proxy {
  readonly port: number;
  readonly url: string;
  /** Connections handed to each backend so far, by index. */
  readonly counts: number[];
  close(): Promise<void>;
}

export async function startProxy(backends: readonly { host: string; port: number }[], port = 0, host = '127.0.0.1'): Promise<Proxy> {
  let next = 0;
  const counts = backends.map(() => 0);
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    track(client);
    client.pause();
    const attempt = (tries: number): void => {
      if (tries >= backends.length) {
        client.destroy();
        return;
      }
      const i = next++ % backends.length;
      const b = backends[i]!;
      const upstream = net.connect(b.port, b.host);
      upstream.once('connect', () => {
        counts[i]!++;
        track(upstream);
        client.pipe(upstream).pipe(client);
        client.resume();
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
      });
      upstream.once('error', () => attempt(tries + 1));
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const actual = (server.address() as net.AddressInfo).port;
  return {
    port: actual,
    url: `http://${host}:${actual}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
