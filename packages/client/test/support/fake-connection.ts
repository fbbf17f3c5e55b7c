/** The server end of one fake socket: queues frames and delivers them on setImmediate, through the server's chaos. */
import { encodeServerFrame, type ClientFrame, type ConversationId, type ServerFrame, type UserId } from '@tidings/shared';
import type { TransportSocket } from '../../src/transport/transport.js';
import type { Device, FakeServer } from './fake-server.js';

export interface Outgoing {
  readonly frame: ServerFrame;
  readonly live: boolean;
}

export class FakeConnection implements TransportSocket {
  onopen: (() => void) | null = null;
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((code: number, reason: string) => void) | null = null;
  device: Device | null = null;
  /** Users whose presence this socket is told about. */
  watched = new Set<UserId>();
  /** When the last active typing frame per conversation was passed on. */
  readonly typingAt = new Map<ConversationId, number>();
  closed = false;
  readonly received: ClientFrame[] = [];
  private queue: Outgoing[] = [];
  private scheduled = false;
  private closing: { code: number; reason: string } | null = null;

  constructor(private readonly server: FakeServer) {}

  // ---- the client's side ----
  send(bytes: Uint8Array): void {
    if (this.closed || this.closing) return;
    const copy = bytes.slice();
    queueMicrotask(() => {
      if (!this.closed && !this.closing) this.server.receive(this, copy);
    });
  }

  close(code = 1000, reason = ''): void {
    if (this.closed || this.closing) return;
    this.queue = [];
    this.serverClose(code, reason);
  }

  // ---- the server's side ----
  push(frame: ServerFrame, live = false): void {
    if (this.closed || this.closing) return;
    this.queue.push({ frame, live });
    this.schedule();
  }

  /** Closes after the frames already queued are delivered. */
  serverClose(code: number, reason: string): void {
    if (this.closed || this.closing) return;
    this.closing = { code, reason };
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = false;
    const batch = this.server.applyChaos(this.queue);
    this.queue = [];
    for (const { frame } of batch) {
      if (this.closed) return;
      this.onmessage?.(encodeServerFrame(frame));
    }
    if (this.closing && !this.closed) {
      this.closed = true;
      this.server.forget(this);
      this.onclose?.(this.closing.code, this.closing.reason);
    }
  }
}
