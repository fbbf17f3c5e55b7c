/**
 * A minimal raw-protocol client for fanout-group.ts and heartbeat.ts: open a
 * socket, hello with an empty cursor, wait for `synced`, then hand every
 * decoded frame to a callback. Also the HTTP calls those benchmarks need.
 */
import { performance } from 'node:perf_hooks';
import { decodeServerFrame, encodeClientFrame, type ClientFrame, type ServerFrame } from '@tidings/shared';
import { WebSocket, WS_OPEN, type WsSocket } from './ws.js';

export interface ProtoClient {
  send(f: ClientFrame): boolean;
  close(): Promise<void>;
  readonly ws: WsSocket;
}

export interface ProtoHandlers {
  frame?(f: ServerFrame, now: number): void;
  error?(what: string): void;
  /** Closed after synced, while the run still wanted it open. */
  closed?(code: number, reason: string): void;
}

/** `localAddress`: the source address (e.g. 127.0.0.2), so many sockets do not share one address's ephemeral ports. */
export async function connectClient(base: string, token: string, h: ProtoHandlers, timeoutMs = 60_000, localAddress?: string): Promise<ProtoClient> {
  const ws: WsSocket = new WebSocket(base.replace(/^http/, 'ws') + '/v1/ws', { perMessageDeflate: false, handshakeTimeout: timeoutMs, localAddress });
  let running = true;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => (ws.terminate(), reject(new Error(`no synced within ${timeoutMs} ms`))), timeoutMs);
    let synced = false;
    ws.once('error', (err) => (clearTimeout(timer), reject(err)));
    ws.on('open', () => ws.send(encodeClientFrame({ t: 'hello', token, cursor: [] })));
    ws.on('message', (data: Buffer) => {
      const now = performance.now();
      let f: ServerFrame;
      try {
        f = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch (err) {
        h.error?.(`undecodable frame: ${(err as Error).message}`);
        return;
      }
      if (f.t === 'error') h.error?.(`${f.code}: ${f.message}`);
      if (f.t === 'synced' && !synced) {
        synced = true;
        clearTimeout(timer);
        resolve();
      }
      h.frame?.(f, now);
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      if (!synced) reject(new Error(`closed before synced: ${code} ${reason.toString()}`));
      else if (running) h.closed?.(code, reason.toString());
    });
    ws.on('error', (err) => h.error?.(`socket: ${err.message}`));
  });
  return {
    ws,
    send: (f) => {
      if (ws.readyState !== WS_OPEN) return false;
      ws.send(encodeClientFrame(f));
      return true;
    },
    close: () => {
      running = false;
      if (ws.readyState === 3) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => (ws.terminate(), resolve()), 3000);
        ws.once('close', () => (clearTimeout(timer), resolve()));
        ws.close(1000, 'bench done');
      });
    },
  };
}

export async function postJson<T>(base: string, path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`POST ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Nearest-rank percentile of a sorted copy; NaN for an empty list. */
export function pct(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const r1 = (v: number): number => Math.round(v * 10) / 10;
