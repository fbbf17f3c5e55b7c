/** The Transport over the host's global WebSocket (browsers, workers, Node >= 22). */
import { CloseCode } from '@tidings/shared';
import type { Transport, TransportSocket } from './transport.js';

class BrowserSocket implements TransportSocket {
  onopen: (() => void) | null = null;
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((code: number, reason: string) => void) | null = null;
  private readonly ws: WebSocket;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = () => this.onopen?.();
    this.ws.onmessage = (event: MessageEvent) => {
      if (event.data instanceof ArrayBuffer) this.onmessage?.(new Uint8Array(event.data));
      // The protocol is binary only: a text frame means a broken peer.
      else this.ws.close(CloseCode.ProtocolError, 'text frames are not part of the protocol');
    };
    this.ws.onclose = (event: CloseEvent) => this.onclose?.(event.code, event.reason);
  }

  send(bytes: Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes as Uint8Array<ArrayBuffer>);
  }

  close(code?: number, reason?: string): void {
    if (this.ws.readyState === WebSocket.CLOSING || this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(code, reason);
  }
}

export class BrowserWebSocketTransport implements Transport {
  connect(url: string): TransportSocket {
    return new BrowserSocket(url);
  }
}
