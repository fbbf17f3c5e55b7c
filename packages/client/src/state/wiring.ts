/**
 * Connects the state layer to a TidingsClient: its documents live in the
 * client's replica, its updates go out through `sendState`, arriving message
 * rows are checked against deletions and the timer, a group's membership
 * change posts a snapshot (new members and devices cannot read older
 * entries), and state changes surface as the client's `state` event.
 */
import type { ConversationId, UserId } from '@tidings/shared';
import type { Replica } from '../replica/replica.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Emitter } from '../events/emitter.js';
import type { TidingsEvents } from '../sync/events.js';
import { ClientState } from './client-state.js';
import { StateLayer } from './state-layer.js';

export interface StateWiring {
  readonly layer: StateLayer;
  readonly state: ClientState;
  /** Loads every known conversation's document (timers start). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function wireState(deps: {
  readonly replica: Replica;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly self: UserId;
  readonly events: Emitter<TidingsEvents>;
  readonly send: (conversationId: ConversationId, data: Uint8Array, snapshot: boolean) => Promise<unknown>;
  readonly setRetention: (conversationId: ConversationId, seconds: number) => Promise<void>;
}): StateWiring {
  const { replica, clock, logger, events } = deps;
  const layer = new StateLayer({ store: replica, send: deps.send, clock, logger });
  const state = new ClientState({ layer, self: String(deps.self), clock, lookup: replica, setRetention: deps.setRetention });
  const warn = (what: string) => (error: unknown) => logger.warn(what, { error: String(error) });
  layer.on('changed', ({ conversationId }) => events.emit('state', { conversationId, removed: [] }));
  layer.on('removed', ({ conversationId, uids }) => events.emit('state', { conversationId, removed: uids }));
  events.on('message', (m) => void layer.messageArrived(m).catch(warn('state check of a message failed')));
  events.on('groupChanged', ({ conversationId }) => void layer.postSnapshot(conversationId).catch(warn('snapshot after a membership change failed')));
  return {
    layer,
    state,
    start: async () => layer.start((await replica.conversations()).map((c) => c.id)),
    stop: () => layer.stop(),
  };
}
