/** Prometheus metrics, one registry per server instance (tests run several in one process). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(fanoutSize: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    framesIn: new Counter({ name: 'tidings_ws_frames_in_total', help: 'WebSocket frames received', registers: [registry] }),
    framesOut: new Counter({ name: 'tidings_ws_frames_out_total', help: 'WebSocket frames sent', registers: [registry] }),
    errors: new Counter({ name: 'tidings_errors_total', help: 'Typed errors answered, by code', labelNames: ['code'], registers: [registry] }),
    slowConsumers: new Counter({ name: 'tidings_ws_slow_consumers_total', help: 'Sockets dropped for not reading', registers: [registry] }),
    catchupEntries: new Counter({ name: 'tidings_catchup_entries_total', help: 'Entries streamed by catch-up', registers: [registry] }),
    receiptAcks: new Counter({ name: 'tidings_receipt_acks_total', help: 'Receipt positions written (after coalescing)', registers: [registry] }),
    appended: new Counter({ name: 'tidings_log_appended_total', help: 'Entries committed to the log', registers: [registry] }),
    batchSize: new Histogram({
      name: 'tidings_log_batch_size',
      help: 'Appends per group-commit batch',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'tidings_log_batch_seconds',
      help: 'Time to commit one batch',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'tidings_ws_connections',
    help: 'Authenticated devices connected to this node',
    registers: [registry],
    collect() {
      this.set(fanoutSize());
    },
  });
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;
