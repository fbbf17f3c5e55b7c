/**
 * A test gateway: serves the built app (dist) and proxies the server's paths
 * (/v1/*, the /v1/ws socket, the seed API) to a real sync server, so the app
 * talks to its own origin as it will in production. Each browser context gets
 * its own gateway (its own origin), which can be cut off to play "offline"
 * for everything that context does, its workers' sockets included, and which
 * counts WebSocket upgrades. With `csp`, pages get the server's own
 * Content-Security-Policy, so the browser enforces what it enforces in production.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json',
};
const SERVER_PATHS = /^\/(v1\/|sendMessage|getMessages|healthz|metrics)/;

export interface Gateway {
  readonly url: string;
  /** WebSocket upgrades proxied so far. */
  upgrades(): number;
  /** Proxied WebSockets open now. */
  openSockets(): number;
  /** Offline: drops every open connection and refuses new ones until set back. */
  setOffline(offline: boolean): void;
  close(): Promise<void>;
}

/** The CSP the server sends with its responses (its web app pages get the same one). */
async function serverCsp(serverPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${serverPort}/healthz`);
  await res.arrayBuffer();
  const csp = res.headers.get('content-security-policy');
  if (!csp) throw new Error('the sync server sent no Content-Security-Policy');
  return csp;
}

export async function startGateway(distDir: string, serverPort: number, options: { csp?: boolean } = {}): Promise<Gateway> {
  const csp = options.csp ? await serverCsp(serverPort) : null;
  let offline = false;
  let upgrades = 0;
  const sockets = new Set<net.Socket>();
  const tunnels = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (SERVER_PATHS.test(url.pathname)) {
      const upstream = http.request(
        { host: '127.0.0.1', port: serverPort, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
      return;
    }
    void serveStatic(distDir, url.pathname, res, csp);
  });
  server.on('connection', (socket) => {
    if (offline) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req, socket, head) => {
    if (offline || req.url !== '/v1/ws') {
      socket.destroy();
      return;
    }
    upgrades += 1;
    const upstream = net.connect(serverPort, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    tunnels.add(upstream);
    const end = () => {
      tunnels.delete(upstream);
      upstream.destroy();
      socket.destroy();
    };
    upstream.on('error', end);
    upstream.on('close', end);
    socket.on('error', end);
    socket.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    upgrades: () => upgrades,
    openSockets: () => tunnels.size,
    setOffline(value) {
      offline = value;
      if (!value) return;
      for (const s of tunnels) s.destroy();
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of tunnels) s.destroy();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function serveStatic(distDir: string, pathname: string, res: http.ServerResponse, csp: string | null): Promise<void> {
  const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
  const file = path.resolve(distDir, rel);
  if (!file.startsWith(path.resolve(distDir) + path.sep)) {
    res.writeHead(403).end();
    return;
  }
  try {
    const body = await readFile(file);
    const headers: Record<string, string> = { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' };
    // The shell and the service worker revalidate; hashed assets are immutable.
    headers['cache-control'] = rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    if (csp !== null && file.endsWith('.html')) headers['content-security-policy'] = csp;
    res.writeHead(200, headers).end(body);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}
