/**
 * The transport port: a binary, message-framed, ordered duplex channel (a
 * WebSocket). Implementations must call the handlers asynchronously, never from
 * inside `connect`, so the caller can set them right after connecting; and
 * every socket ends with exactly one `onclose`, including when it never opened.
 */

export interface TransportSocket {
  /** Sends one binary message. Ignored once the socket is closing or closed. */
  send(bytes: Uint8Array): void;
  /** Starts closing; `onclose` follows. */
  close(code?: number, reason?: string): void;
  /** The connection is open and `send` may be called. */
  onopen: (() => void) | null;
  /** One binary message arrived. */
  onmessage: ((bytes: Uint8Array) => void) | null;
  /** The socket closed (or failed to open: code 1006). */
  onclose: ((code: number, reason: string) => void) | null;
}

export interface Transport {
  /** Opens a socket to a `ws:` or `wss:` URL. */
  connect(url: string): TransportSocket;
}

/** The close code a socket reports when it ended without a close frame (network failure). */
export const ABNORMAL_CLOSURE = 1006;
