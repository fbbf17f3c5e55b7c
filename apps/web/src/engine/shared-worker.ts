/**
 * SharedWorker entry: one engine for every tab of the origin. Each tab that
 * connects gets the same EngineHost through comlink on its own port.
 */
import { expose } from 'comlink';
import { createHost } from './boot.js';

interface ConnectEvent {
  readonly ports: readonly MessagePort[];
}
interface SharedWorkerScope {
  onconnect: ((event: ConnectEvent) => void) | null;
}

const host = createHost();
(globalThis as unknown as SharedWorkerScope).onconnect = (event) => {
  const port = event.ports[0];
  if (port) expose(host, port);
};
