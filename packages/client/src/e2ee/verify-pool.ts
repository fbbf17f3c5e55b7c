/**
 * Ed25519 checks batched to a worker thread (Node only; reached from
 * provider-node.ts). node:crypto's verify with a callback does run on libuv's
 * thread pool, but each call still costs the calling thread a job set-up, a
 * thread-pool hand-off and a completion callback: 37 µs of it per check on a
 * 2-core VM, 740 ms of a 3.2 s catch-up of 10,000 messages (issue #11,
 * target 5). Here the checks a turn issues travel together, in one
 * transferred buffer per batch, to a worker that runs node:crypto's verify on
 * each and answers with one byte per check: 3–7 µs of the calling thread per
 * check.
 *
 * A check never resolves true unless node:crypto said so. If a worker fails
 * (it errors, exits or cannot be started), its outstanding checks are run on
 * the calling thread instead, and a pool whose workers keep failing verifies
 * on the calling thread from then on. Idle workers are unref'd, so they never
 * keep a process alive; a worker with checks outstanding is ref'd, so a
 * process does not exit under a pending check.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Checks sent to a worker in one message at most (a full batch leaves at once, before the turn ends). */
export const VERIFY_BATCH = 64;
/** Workers at most: signature checks need one core, and the calling thread has the rest. */
export const MAX_VERIFY_WORKERS = 2;
/** Worker failures in a row (without one answered batch between) before the pool stops using workers. */
export const MAX_WORKER_FAILURES = 3;
/** Public keys a worker keeps imported. */
const WORKER_KEY_CACHE = 512;

/**
 * The worker's whole program (CommonJS, run with `eval`, so it needs no file of
 * its own under tsx, vitest or a bundler). A batch is `lens` (key, signature and
 * message length per check) and `data` (the bytes, in that order per check).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const keys = new Map();
function key(raw) {
  const id = raw.toString('hex');
  let k = keys.get(id);
  if (k === undefined) {
    try { k = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' }); } catch { k = null; }
    if (keys.size >= ${WORKER_KEY_CACHE}) keys.clear();
    keys.set(id, k);
  }
  return k;
}
parentPort.on('message', ({ id, lens, data }) => {
  const n = lens.length / 3;
  const out = new Uint8Array(n);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const kl = lens[3 * i], sl = lens[3 * i + 1], ml = lens[3 * i + 2];
    const k = key(bytes.subarray(at, at + kl));
    const sig = bytes.subarray(at + kl, at + kl + sl);
    const msg = bytes.subarray(at + kl + sl, at + kl + sl + ml);
    at += kl + sl + ml;
    if (k === null) continue;
    try { out[i] = verify(null, msg, k, sig) ? 1 : 0; } catch { out[i] = 0; }
  }
  parentPort.postMessage({ id, out }, [out.buffer]);
});
`;

/** The same check on the calling thread (the provider's own), for when no worker can do it. */
export type VerifyHere = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

interface Check {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly resolve: (ok: boolean) => void;
}

interface Lane {
  readonly worker: Worker;
  /** Batches sent and not yet answered, by id. */
  readonly outstanding: Map<number, readonly Check[]>;
  dead: boolean;
}

export interface VerifyPoolOptions {
  readonly verifyHere: VerifyHere;
  /** Workers to use (default: one per core beyond the first, at most MAX_VERIFY_WORKERS). */
  readonly workers?: number;
  /** Starts a worker; tests pass one that fails. */
  readonly spawn?: () => Worker;
}

export class VerifyPool {
  private readonly size: number;
  private readonly spawn: () => Worker;
  private readonly verifyHere: VerifyHere;
  private readonly lanes: (Lane | undefined)[];
  private pending: Check[] = [];
  private scheduled = false;
  private nextLane = 0;
  private nextId = 0;
  private failures = 0;
  private closed = false;

  constructor(opts: VerifyPoolOptions) {
    this.verifyHere = opts.verifyHere;
    this.size = Math.max(1, Math.min(MAX_VERIFY_WORKERS, opts.workers ?? availableParallelism() - 1));
    this.spawn = opts.spawn ?? (() => new Worker(WORKER_SOURCE, { eval: true }));
    this.lanes = new Array<Lane | undefined>(this.size);
  }

  /** True while the pool verifies on workers; false once they kept failing (checks then run on the calling thread). */
  get usingWorkers(): boolean {
    return this.failures < MAX_WORKER_FAILURES && !this.closed;
  }

  /** Checks an Ed25519 signature; resolves false (never rejects) for a bad key, signature or message. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (!this.usingWorkers) return Promise.resolve(this.verifyHere(publicKey, message, signature));
    return new Promise((resolve) => {
      this.pending.push({ publicKey, message, signature, resolve });
      if (this.pending.length >= VERIFY_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Stops the workers; checks still outstanding are finished on the calling thread. Later checks run there too. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    await Promise.all(
      this.lanes.map(async (lane) => {
        if (!lane) return;
        this.fail(lane, false);
        await lane.worker.terminate();
      }),
    );
  }

  private flush(): void {
    this.scheduled = false;
    const checks = this.pending;
    if (checks.length === 0) return;
    this.pending = [];
    const lane = this.usingWorkers ? this.lane() : undefined;
    if (!lane) return this.checkHere(checks);
    // Raw public keys: the worker imports each one once (a per-check SPKI copy here cost this thread an allocation).
    const lens = new Uint32Array(checks.length * 3);
    let total = 0;
    checks.forEach((c, i) => {
      lens[3 * i] = c.publicKey.length;
      lens[3 * i + 1] = c.signature.length;
      lens[3 * i + 2] = c.message.length;
      total += c.publicKey.length + c.signature.length + c.message.length;
    });
    // Copied into one fresh buffer and transferred: a view would take its whole backing buffer along.
    const data = new Uint8Array(total);
    let at = 0;
    for (const c of checks) {
      data.set(c.publicKey, at);
      data.set(c.signature, (at += c.publicKey.length));
      data.set(c.message, (at += c.signature.length));
      at += c.message.length;
    }
    const id = this.nextId++;
    lane.outstanding.set(id, checks);
    lane.worker.ref();
    try {
      lane.worker.postMessage({ id, lens, data }, [lens.buffer, data.buffer]);
    } catch {
      this.fail(lane, true);
    }
  }

  /** The next live worker, started if need be; undefined when none can be started. */
  private lane(): Lane | undefined {
    const i = this.nextLane;
    this.nextLane = (i + 1) % this.size;
    const existing = this.lanes[i];
    if (existing && !existing.dead) return existing;
    let worker: Worker;
    try {
      worker = this.spawn();
    } catch {
      this.failures++;
      return undefined;
    }
    const lane: Lane = { worker, outstanding: new Map(), dead: false };
    worker.on('message', (m: { id: number; out: Uint8Array }) => this.answered(lane, m));
    worker.on('error', () => this.fail(lane, true));
    worker.on('exit', () => this.fail(lane, true));
    worker.unref(); // after the listeners: adding a 'message' listener refs the worker's port again
    this.lanes[i] = lane;
    return lane;
  }

  private answered(lane: Lane, m: { id: number; out: Uint8Array }): void {
    const checks = lane.outstanding.get(m.id);
    if (!checks) return;
    lane.outstanding.delete(m.id);
    this.failures = 0;
    checks.forEach((c, i) => c.resolve(m.out[i] === 1));
    if (lane.outstanding.size === 0) lane.worker.unref();
  }

  /** A worker is gone: what it still owed is checked here, and the next check starts another. */
  private fail(lane: Lane, counts: boolean): void {
    if (lane.dead) return;
    lane.dead = true;
    if (counts) this.failures++;
    const owed = [...lane.outstanding.values()].flat();
    lane.outstanding.clear();
    lane.worker.unref();
    this.checkHere(owed);
  }

  private checkHere(checks: readonly Check[]): void {
    for (const c of checks) c.resolve(this.verifyHere(c.publicKey, c.message, c.signature));
  }
}
