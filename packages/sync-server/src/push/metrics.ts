/** Push counters, registered in the node's registry. */
import { Counter, type Registry } from 'prom-client';

export function createPushMetrics(registry: Registry) {
  return {
    queued: new Counter({
      name: 'tidings_push_queued_total',
      help: 'Messages counted into a push window (after presence and mute checks)',
      registers: [registry],
    }),
    sent: new Counter({
      name: 'tidings_push_sent_total',
      help: 'Pushes accepted by a push service',
      labelNames: ['provider'],
      registers: [registry],
    }),
    failed: new Counter({
      name: 'tidings_push_failed_total',
      help: 'Push sends that failed, by what happens next (retry, rejected, dropped after the last attempt)',
      labelNames: ['provider', 'reason'],
      registers: [registry],
    }),
    removed: new Counter({
      name: 'tidings_push_subscriptions_removed_total',
      help: 'Subscriptions removed because the push service answered 404 or 410',
      registers: [registry],
    }),
  };
}
export type PushMetrics = ReturnType<typeof createPushMetrics>;
