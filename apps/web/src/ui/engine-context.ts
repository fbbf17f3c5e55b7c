/**
 * The tab's link to the engine: one comlink subscription per tab, fanned out
 * to components through hooks. Views read state from the engine (which reads
 * the local replica) and re-read on events; nothing here talks to the network.
 */
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { proxy } from 'comlink';
import type { PresenceItem, UserId } from '@tidings/shared';
import type { ConnectionState } from '@tidings/client';
import type { EngineEvent, SessionInfo } from '../engine/api.js';
import type { Engine, EngineMode } from '../engine/connect.js';

type Listener = (event: EngineEvent) => void;

export class EngineLink {
  private readonly listeners = new Set<Listener>();
  private readonly names = new Map<UserId, string>();
  private readonly presenceOf = new Map<UserId, PresenceItem>();
  /** This tab's id for focus(): which conversation it shows. */
  readonly viewId = Math.random().toString(36).slice(2);
  status: ConnectionState = 'offline';

  constructor(
    readonly engine: Engine,
    readonly mode: EngineMode,
  ) {}

  async start(): Promise<SessionInfo | null> {
    const id = await this.engine.subscribe(proxy((events: readonly EngineEvent[]) => this.dispatch(events)));
    addEventListener('pagehide', () => void this.engine.unsubscribe(id));
    this.status = await this.engine.status();
    return this.engine.session();
  }

  private dispatch(events: readonly EngineEvent[]): void {
    for (const event of events) {
      if (event.type === 'status') this.status = event.status;
      if (event.type === 'names') for (const [id, name] of event.names) this.names.set(id, name);
      if (event.type === 'presence') for (const item of event.items) this.presenceOf.set(item.userId, item);
      for (const listener of this.listeners) listener(event);
    }
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  name(userId: UserId): string | undefined {
    return this.names.get(userId);
  }

  async loadNames(ids: readonly UserId[]): Promise<void> {
    const missing = ids.filter((id) => !this.names.has(id));
    if (missing.length === 0) return;
    const found = await this.engine.names(missing);
    if (found.size > 0) this.dispatch([{ type: 'names', names: found }]);
  }

  presence(userId: UserId): PresenceItem | undefined {
    return this.presenceOf.get(userId);
  }

  async loadPresence(ids: readonly UserId[]): Promise<void> {
    if (ids.length === 0) return;
    const items = await this.engine.presence(ids);
    this.dispatch([{ type: 'presence', items }]);
  }
}

export const LinkContext = createContext<EngineLink | null>(null);

export function useLink(): EngineLink {
  const link = useContext(LinkContext);
  if (!link) throw new Error('no engine link');
  return link;
}

/** Calls `fn` for each engine event (latest closure). */
export function useEngineEvent(fn: Listener): void {
  const link = useLink();
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => link.on((e) => ref.current(e)), [link]);
}

export function useStatus(): ConnectionState {
  const link = useLink();
  const [status, setStatus] = useState(link.status);
  useEngineEvent((e) => {
    if (e.type === 'status') setStatus(e.status);
  });
  return status;
}

/** A display name for a user: the known username, or a short placeholder until one is learned. */
export function useName(userId: UserId | null): string {
  const link = useLink();
  const [, bump] = useState(0);
  useEffect(() => {
    if (userId !== null) void link.loadNames([userId]);
  }, [link, userId]);
  useEngineEvent((e) => {
    if (e.type === 'names' && userId !== null && e.names.has(userId)) bump((n) => n + 1);
  });
  if (userId === null) return '';
  return link.name(userId) ?? `user ${userId.toString().slice(-4)}`;
}

/** Presence of one user, kept current from `presence` events. */
export function usePresence(userId: UserId | null): PresenceItem | undefined {
  const link = useLink();
  const [, bump] = useState(0);
  useEngineEvent((e) => {
    if (e.type === 'presence' && userId !== null && e.items.some((i) => i.userId === userId)) bump((n) => n + 1);
  });
  return userId === null ? undefined : link.presence(userId);
}

/** Runs `fn` at most once per ~frame however often it is requested (timers, not rAF: hidden tabs stay current). */
export function useFrameCoalesced(fn: () => void): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const pending = useRef(false);
  return useRef(() => {
    if (pending.current) return;
    pending.current = true;
    setTimeout(() => {
      pending.current = false;
      ref.current();
    }, 16);
  }).current;
}
