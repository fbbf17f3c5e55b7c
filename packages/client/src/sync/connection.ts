/**
 * One logical connection to the server over a series of sockets: opens a
 * socket, watches it with a heartbeat, and on loss reconnects with backoff.
 * Frames from a socket that has been replaced are never delivered.
 */
import { CloseCode, decodeServerFrame, encodeClientFrame, type ClientFrame, type ServerFrame } from '@tidings/shared';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Transport, TransportSocket } from '../transport/transport.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { CloseAction } from './status.js';
import { Heartbeat } from './heartbeat.js';

export interface ConnectionOptions {
  readonly transport: Transport;
  /** Tried in turn: the next one after every lost socket (failover between nodes). */
  readonly wsUrls: readonly string[];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly heartbeatMs: number;
  readonly backoff: BackoffOptions;
  readonly random: () => number;
}

/** What the connection tells its owner. Calls for a replaced socket never happen. */
export interface ConnectionHandler {
  /** A socket is being opened. */
  connecting(): void;
  /** The socket is open; the owner must send hello first. */
  opened(): void;
  /** A frame arrived, decoded. */
  frame(frame: ServerFrame): void;
  /** The socket is gone; a reconnect is scheduled after `delayMs`. */
  lost(code: number, reason: string, delayMs: number): void;
  /** The server refused this device for good (bad token, revoked); no reconnect. */
  refused(code: number, reason: string): void;
}

/** Close codes after which reconnecting cannot help. */
export function closeAction(code: number): CloseAction {
  return code === CloseCode.Unauthenticated || code === CloseCode.DeviceRevoked ? 'stop' : 'reconnect';
}

/** Close code used locally for a socket the heartbeat declared dead (never sent by a server). */
export const HEARTBEAT_TIMEOUT = 4900;

export class Connection {
  private socket: TransportSocket | null = null;
  private reconnectTimer: TimerHandle | null = null;
  private running = false;
  private readonly backoff: Backoff;
  private readonly heartbeat: Heartbeat;
  private urlIndex = 0;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly handler: ConnectionHandler,
  ) {
    this.backoff = new Backoff(options.backoff, options.random);
    this.heartbeat = new Heartbeat(
      options.clock,
      options.heartbeatMs,
      (nonce) => this.send({ t: 'ping', nonce }),
      () => this.drop(HEARTBEAT_TIMEOUT, 'no traffic for two heartbeat intervals'),
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.open();
  }

  stop(): void {
    this.running = false;
    if (this.reconnectTimer !== null) this.options.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.detach()?.close(CloseCode.Normal, 'client stopped');
  }

  /** The handshake succeeded: the next loss starts backing off from the base again. */
  welcomed(): void {
    this.backoff.reset();
  }

  /** Sends a frame on the current socket; dropped (returning false) when there is none. */
  send(frame: ClientFrame): boolean {
    if (!this.socket) return false;
    this.socket.send(encodeClientFrame(frame));
    return true;
  }

  /** Abandons the current socket (broken peer, local failure) and reconnects with backoff. */
  drop(code: number, reason: string): void {
    const socket = this.detach();
    if (!socket) return;
    socket.close(code >= 4000 && code < 4900 ? code : CloseCode.Normal, reason);
    this.lost(code, reason);
  }

  private open(): void {
    const urls = this.options.wsUrls;
    const socket = this.options.transport.connect(urls[this.urlIndex % urls.length]!);
    this.socket = socket;
    this.handler.connecting();
    this.heartbeat.watch();
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.heartbeat.startPinging();
      this.handler.opened();
    };
    socket.onmessage = (bytes) => {
      if (this.socket !== socket) return;
      this.heartbeat.touch();
      let frame: ServerFrame;
      try {
        frame = decodeServerFrame(bytes);
      } catch (error) {
        this.options.logger.warn('undecodable frame from server', { error: String(error) });
        this.drop(CloseCode.ProtocolError, 'undecodable frame');
        return;
      }
      this.handler.frame(frame);
    };
    socket.onclose = (code, reason) => {
      if (this.socket !== socket) return;
      this.detach();
      if (closeAction(code) === 'stop') {
        this.running = false;
        this.handler.refused(code, reason);
      } else {
        this.lost(code, reason);
      }
    };
  }

  /** Forgets the current socket (its later events are ignored) and returns it. */
  private detach(): TransportSocket | null {
    const socket = this.socket;
    this.socket = null;
    this.heartbeat.stop();
    return socket;
  }

  private lost(code: number, reason: string): void {
    if (!this.running) return;
    this.urlIndex++; // the next node, if there are several
    const delayMs = this.backoff.next();
    this.reconnectTimer = this.options.clock.setTimeout(() => {
      this.reconnectTimer = null;
      if (this.running) this.open();
    }, delayMs);
    this.handler.lost(code, reason, delayMs);
  }
}
