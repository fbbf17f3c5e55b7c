/**
 * A typed handle on the `ws` package for the benchmark. bench/ has no
 * @types/ws, so the CommonJS module is loaded with createRequire and given
 * the few signatures the benchmark uses (no ambient module declaration, so
 * nothing clashes if @types/ws is added later).
 */
import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WsSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array, opts?: { binary?: boolean }, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(ev: 'open', fn: () => void): this;
  on(ev: 'message', fn: (data: Buffer, isBinary: boolean) => void): this;
  on(ev: 'close', fn: (code: number, reason: Buffer) => void): this;
  on(ev: 'error', fn: (err: Error) => void): this;
  once(ev: 'open', fn: () => void): this;
  once(ev: 'error', fn: (err: Error) => void): this;
  once(ev: 'close', fn: (code: number, reason: Buffer) => void): this;
}

export interface WsServer {
  readonly clients: Set<WsSocket>;
  address(): AddressInfo | string | null;
  close(cb?: (err?: Error) => void): void;
  on(ev: 'connection', fn: (ws: WsSocket, req: IncomingMessage) => void): this;
  on(ev: 'listening', fn: () => void): this;
  on(ev: 'error', fn: (err: Error) => void): this;
  once(ev: 'listening', fn: () => void): this;
  once(ev: 'error', fn: (err: Error) => void): this;
}

interface WsModule {
  new (url: string, opts?: { perMessageDeflate?: boolean; maxPayload?: number; handshakeTimeout?: number; localAddress?: string }): WsSocket;
  readonly OPEN: number;
  readonly WebSocketServer: new (opts: { host: string; port: number; perMessageDeflate?: boolean; maxPayload?: number }) => WsServer;
}

const ws = createRequire(import.meta.url)('ws') as WsModule;
export const WebSocket = ws;
export const WebSocketServer = ws.WebSocketServer;
export const WS_OPEN: number = ws.OPEN;
