/**
 * The Transport over the `ws` package, for Node. Exported from `@tidings/client/node`
 * only, so browser bundles never import `ws`.
 */
import { WebSocket, type RawData } from 'ws';
import { CloseCode, MAX_FRAME_BYTES } from '@tidings/shared';
import type { Logger } from '../runtime/logger.js';
import { silentLogger } from '../runtime/logger.js';
import type { Transport, TransportSocket } from './transport.js';

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

class NodeSocket implements TransportSocket {
  onopen: (() => void) | null = null;
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((code: number, reason: string) => void) | null = null;
  private readonly ws: WebSocket;

  constructor(url: string, logger: Logger) {
    this.ws = new WebSocket(url, { maxPayload: MAX_FRAME_BYTES });
    this.ws.on('open', () => this.onopen?.());
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) this.onmessage?.(toBytes(data));
      else this.ws.close(CloseCode.ProtocolError, 'text frames are not part of the protocol');
    });
    // 'error' is always followed by 'close'; without a listener ws would throw.
    this.ws.on('error', (error) => logger.debug('websocket error', { error: error.message }));
    this.ws.on('close', (code, reason) => this.onclose?.(code, reason.toString('utf8')));
  }

  send(bytes: Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  close(code?: number, reason?: string): void {
    if (this.ws.readyState === WebSocket.CLOSING || this.ws.readyState === WebSocket.CLOSED) return;
    // A socket still connecting cannot send a close frame; terminate it instead.
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close(code, reason);
  }
}

export class NodeWebSocketTransport implements Transport {
  constructor(private readonly logger: Logger = silentLogger) {}

  connect(url: string): TransportSocket {
    return new NodeSocket(url, this.logger);
  }
}
