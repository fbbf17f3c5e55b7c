/** Builds the origin's EngineHost inside a worker: same-origin server, injected envelope. */
import { makeEnvelope } from './envelope.js';
import { EngineHost } from './host.js';

export function createHost(): EngineHost {
  const ua = (globalThis.navigator as Navigator | undefined)?.userAgent ?? '';
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chromium' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  return new EngineHost({ serverUrl: globalThis.location.origin, envelope: makeEnvelope, deviceName: `Web (${browser})` });
}
