/** Strict base64 (RFC 4648, padded) for JSON boundaries; works in Node and browsers. */
import { ErrorCode, TidingsError } from './errors.js';

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(text: string, what = 'value'): Uint8Array {
  if (!B64.test(text)) throw new TidingsError(ErrorCode.InvalidArgument, `${what} must be padded base64`);
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
