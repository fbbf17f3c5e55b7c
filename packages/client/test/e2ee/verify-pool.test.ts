/**
 * Ed25519 checks batched to a worker (verify-pool.ts): every answer is
 * node:crypto's, whatever the batch boundaries, the views passed in or the
 * state of the worker; an idle pool never keeps a process alive.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyEd25519 as verifyHere } from '../../src/e2ee/provider-node.js';
import { MAX_WORKER_FAILURES, VERIFY_BATCH, VerifyPool, type VerifyPoolOptions } from '../../src/e2ee/verify-pool.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function keyPair(): { publicKey: Uint8Array; sign: (m: Uint8Array) => Uint8Array } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x!;
  return { publicKey: new Uint8Array(Buffer.from(x, 'base64url')), sign: (m) => new Uint8Array(sign(null, m, privateKey)) };
}

interface Case {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly valid: boolean;
}

/** Valid checks mixed with every kind of failure, in an order that does not line up with the batch size. */
function cases(n: number): Case[] {
  const [a, b] = [keyPair(), keyPair()];
  return Array.from({ length: n }, (_, i) => {
    const message = randomBytes(50 + (i % 300));
    const signature = a.sign(message);
    switch (i % 7) {
      case 1: // the message changed after signing
        return { publicKey: a.publicKey, message: Uint8Array.from(message, (v, j) => (j === 0 ? v ^ 1 : v)), signature, valid: false };
      case 3: // someone else's key
        return { publicKey: b.publicKey, message, signature, valid: false };
      case 4: // not a key at all
        return { publicKey: a.publicKey.subarray(0, 31), message, signature, valid: false };
      case 5: // a truncated signature
        return { publicKey: a.publicKey, message, signature: signature.subarray(0, 63), valid: false };
      default:
        return { publicKey: a.publicKey, message, signature, valid: true };
    }
  });
}

const pools: VerifyPool[] = [];
/** A pool whose calling-thread fallback is the Node provider's own check. */
const pool = (opts: Omit<VerifyPoolOptions, 'verifyHere'>): VerifyPool => {
  const p = new VerifyPool({ verifyHere, ...opts });
  pools.push(p);
  return p;
};
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('VerifyPool', () => {
  it("answers each check as node:crypto does, across batch boundaries and in one worker's or two", async () => {
    const all = cases(VERIFY_BATCH * 3 + 5);
    for (const workers of [1, 2]) {
      const p = pool({ workers });
      const got = await Promise.all(all.map((c) => p.verify(c.publicKey, c.message, c.signature)));
      expect(got).toEqual(all.map((c) => c.valid));
      expect(p.usingWorkers).toBe(true);
    }
  });

  it('checks only the bytes of a view, not the rest of its buffer', async () => {
    const k = keyPair();
    const message = randomBytes(200);
    const frame = new Uint8Array(4096).fill(7);
    frame.set(message, 1000);
    const signature = k.sign(message);
    const sigFrame = new Uint8Array(300).fill(1);
    sigFrame.set(signature, 100);
    const p = pool({ workers: 1 });
    expect(await p.verify(k.publicKey, frame.subarray(1000, 1200), sigFrame.subarray(100, 164))).toBe(true);
    expect(await p.verify(k.publicKey, frame.subarray(999, 1199), sigFrame.subarray(100, 164))).toBe(false);
  });

  it("finishes a failed worker's checks on the calling thread, then stops starting workers that keep failing", async () => {
    let started = 0;
    // A worker that dies as soon as it gets a batch: its checks must still get node:crypto's answer.
    const spawn = () => (
      started++,
      new Worker("require('node:worker_threads').parentPort.on('message', () => process.exit(3))", { eval: true })
    );
    const p = pool({ workers: 1, spawn });
    const all = cases(VERIFY_BATCH + 9);
    for (let round = 0; round < MAX_WORKER_FAILURES; round++) {
      expect(await Promise.all(all.map((c) => p.verify(c.publicKey, c.message, c.signature)))).toEqual(all.map((c) => c.valid));
    }
    expect(started).toBe(MAX_WORKER_FAILURES);
    expect(p.usingWorkers).toBe(false);
    expect(await Promise.all(all.map((c) => p.verify(c.publicKey, c.message, c.signature)))).toEqual(all.map((c) => c.valid));
    expect(started).toBe(MAX_WORKER_FAILURES); // no more workers started
  });

  it('verifies on the calling thread when no worker can be started', async () => {
    const p = pool({
      workers: 1,
      spawn: () => {
        throw new Error('no workers here');
      },
    });
    const all = cases(20);
    expect(await Promise.all(all.map((c) => p.verify(c.publicKey, c.message, c.signature)))).toEqual(all.map((c) => c.valid));
  });

  it('checks still owed when the pool closes are answered, and later ones too', async () => {
    const p = pool({ workers: 1 });
    const all = cases(VERIFY_BATCH * 2);
    const owed = all.map((c) => p.verify(c.publicKey, c.message, c.signature));
    await p.close();
    expect(await Promise.all(owed)).toEqual(all.map((c) => c.valid));
    expect(await p.verify(all[0]!.publicKey, all[0]!.message, all[0]!.signature)).toBe(all[0]!.valid);
  });

  it('an idle pool lets the process exit, and a pending check keeps it alive until answered', async () => {
    const script = `
      import { generateKeyPairSync, sign } from 'node:crypto';
      import { VerifyPool } from ${JSON.stringify(path.join(HERE, '../../src/e2ee/verify-pool.ts'))};
      import { verifyEd25519 } from ${JSON.stringify(path.join(HERE, '../../src/e2ee/provider-node.ts'))};
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const raw = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url'));
      const m = new Uint8Array(100);
      const s = sign(null, m, privateKey);
      const pool = new VerifyPool({ workers: 1, verifyHere: verifyEd25519 });
      // Not awaited: only the pool's worker keeps the process alive until the answers are printed
      // (enough checks to outlast anything else the process starts with).
      void Promise.all(Array.from({ length: 3000 }, () => pool.verify(raw, m, s))).then((oks) => console.log('verified', oks.length, oks.every(Boolean)));
    `;
    const out = await new Promise<{ failed: string | null; stdout: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { timeout: 30_000 },
        (err, stdout) => resolve({ failed: err ? err.message : null, stdout }),
      );
      child.stdin?.end();
    });
    expect(out).toEqual({ failed: null, stdout: 'verified 3000 true\n' });
  });
});
