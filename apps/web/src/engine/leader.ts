/**
 * Where SharedWorker is missing, each tab runs a dedicated worker and the
 * workers elect a leader with Web Locks: only the lock holder runs the engine
 * (and so the only socket and database writer). The others forward calls to
 * it over a BroadcastChannel and receive its events there. When the leader's
 * tab closes its lock is released and the next worker in line takes over.
 */
import type { EngineApi, EngineEvent, EngineListener } from './api.js';

type Method = Exclude<keyof EngineApi, 'subscribe' | 'unsubscribe'>;

type Wire =
  /** A follower asks the leader to run a method. */
  | { readonly kind: 'call'; readonly id: string; readonly method: Method; readonly args: unknown[] }
  /** The leader's answer to one call. */
  | { readonly kind: 'reply'; readonly id: string; readonly ok: boolean; readonly value?: unknown; readonly error?: string }
  /** The leader's engine events. */
  | { readonly kind: 'events'; readonly events: readonly EngineEvent[] }
  /** A new leader took over: pending calls are sent again. */
  | { readonly kind: 'leader' };

interface Pending {
  readonly method: Method;
  readonly args: unknown[];
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** The EngineApi a dedicated worker exposes to its own tab: local while leading, forwarded otherwise. */
export class LeaderFacade {
  private host: EngineApi | null = null;
  private readonly listeners = new Map<number, EngineListener>();
  private nextListener = 1;
  private readonly pending = new Map<string, Pending>();
  private nextCall = 1;
  private readonly prefix = Math.random().toString(36).slice(2);

  constructor(private readonly channel: BroadcastChannel) {
    channel.onmessage = (event: MessageEvent<Wire>) => void this.received(event.data);
  }

  /** This worker holds the lock: run the engine here and serve the followers. */
  async lead(host: EngineApi): Promise<void> {
    this.host = host;
    await host.subscribe((events) => {
      this.deliver(events);
      this.channel.postMessage({ kind: 'events', events } satisfies Wire);
    });
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      this.run(p.method, p.args).then(p.resolve, p.reject);
    }
    this.channel.postMessage({ kind: 'leader' } satisfies Wire);
    // Views of this tab re-read everything: the engine behind them changed.
    this.deliver([{ type: 'chats' }, { type: 'status', status: await host.status() }]);
  }

  /** The API exposed through comlink. */
  api(): EngineApi {
    const local = {
      subscribe: (listener: EngineListener) => {
        const id = this.nextListener++;
        this.listeners.set(id, listener);
        return Promise.resolve(id);
      },
      unsubscribe: (id: number) => {
        this.listeners.delete(id);
        return Promise.resolve();
      },
    };
    return new Proxy(local as EngineApi, {
      get: (target, prop) => {
        if (prop === 'subscribe' || prop === 'unsubscribe') return target[prop];
        if (typeof prop !== 'string' || prop === 'then') return undefined;
        return (...args: unknown[]) => this.run(prop as Method, args);
      },
    });
  }

  private run(method: Method, args: unknown[]): Promise<unknown> {
    if (this.host) return (this.host[method] as (...a: unknown[]) => Promise<unknown>)(...args);
    return new Promise((resolve, reject) => {
      const id = `${this.prefix}:${this.nextCall++}`;
      this.pending.set(id, { method, args, resolve, reject });
      this.channel.postMessage({ kind: 'call', id, method, args } satisfies Wire);
    });
  }

  private deliver(events: readonly EngineEvent[]): void {
    for (const listener of this.listeners.values()) {
      try {
        listener(events);
      } catch {
        // the tab is going away
      }
    }
  }

  private async received(message: Wire): Promise<void> {
    switch (message.kind) {
      case 'call': {
        if (!this.host) return;
        let reply: Wire;
        try {
          reply = { kind: 'reply', id: message.id, ok: true, value: await this.run(message.method, message.args) };
        } catch (error) {
          reply = { kind: 'reply', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) };
        }
        this.channel.postMessage(reply);
        return;
      }
      case 'reply': {
        const p = this.pending.get(message.id);
        if (!p) return;
        this.pending.delete(message.id);
        if (message.ok) p.resolve(message.value);
        else p.reject(new Error(message.error));
        return;
      }
      case 'events':
        if (!this.host) this.deliver(message.events);
        return;
      case 'leader':
        if (this.host) return;
        for (const [id, p] of this.pending) this.channel.postMessage({ kind: 'call', id, method: p.method, args: p.args } satisfies Wire);
        this.deliver([{ type: 'chats' }]);
        return;
      default: {
        const never: never = message;
        throw new Error(`unknown leader message ${(never as { kind: string }).kind}`);
      }
    }
  }
}
