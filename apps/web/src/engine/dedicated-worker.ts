/**
 * Dedicated-worker entry, used where SharedWorker is missing: one per tab,
 * with Web Locks leader election (see leader.ts) so the origin still runs one
 * engine and one socket.
 */
import { expose } from 'comlink';
import { createHost } from './boot.js';
import { LeaderFacade } from './leader.js';

const LOCK = 'tidings-engine-leader';
const facade = new LeaderFacade(new BroadcastChannel('tidings-engine'));
expose(facade.api());

const become = async (): Promise<void> => {
  await facade.lead(createHost());
  // Hold the lock for the life of this worker; closing the tab releases it.
  await new Promise<never>(() => {});
};
if (globalThis.navigator.locks) void globalThis.navigator.locks.request(LOCK, become);
else void become();
