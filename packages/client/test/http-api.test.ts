import { describe, expect, it } from 'vitest';
import { ErrorCode, TidingsError } from '@tidings/shared';
import { HttpApi } from '../src/api/http-api.js';
import { socketUrl } from '../src/sync/config.js';

function stub(status: number, body: unknown, seen: { url?: string; init?: RequestInit } = {}): typeof fetch {
  return (input, init) => {
    seen.url = String(input);
    seen.init = init;
    return Promise.resolve(new Response(JSON.stringify(body), { status }));
  };
}

describe('HttpApi', () => {
  it('parses ids and sends the bearer token', async () => {
    const seen: { url?: string; init?: RequestInit } = {};
    const api = new HttpApi({ serverUrl: 'http://h:1/', token: 't0k', fetch: stub(200, { conversation_id: '42' }, seen) });
    expect(await api.openDm(7n as never)).toBe(42n);
    expect(seen.url).toBe('http://h:1/v1/dms');
    expect((seen.init?.headers as Record<string, string>).authorization).toBe('Bearer t0k');
    expect(seen.init?.body).toBe('{"user_id":"7"}');
  });

  it('maps {error:{code,message}} to TidingsError', async () => {
    const api = new HttpApi({ serverUrl: 'http://h', fetch: stub(409, { error: { code: 'conflict', message: 'taken' } }) });
    const error = await api.register('alice', 'password1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TidingsError);
    expect(error).toMatchObject({ code: ErrorCode.Conflict, message: 'taken' });
  });

  it('maps network failures to unavailable', async () => {
    const api = new HttpApi({ serverUrl: 'http://h', fetch: () => Promise.reject(new Error('ECONNREFUSED')) });
    await expect(api.login('alice', 'password1', 'cli')).rejects.toMatchObject({ code: ErrorCode.Unavailable });
  });

  it('reads and patches privacy settings', async () => {
    const seen: { url?: string; init?: RequestInit } = {};
    const api = new HttpApi({ serverUrl: 'http://h', token: 't', fetch: stub(200, { read_receipts: false, show_last_seen: true }, seen) });
    expect(await api.updateSettings({ readReceipts: false })).toEqual({ readReceipts: false, showLastSeen: true });
    expect(seen).toMatchObject({ url: 'http://h/v1/me/settings', init: { method: 'PATCH', body: '{"read_receipts":false}' } });
    expect(await api.settings()).toEqual({ readReceipts: false, showLastSeen: true });
    expect(seen.init?.method).toBe('GET');
    const bad = new HttpApi({ serverUrl: 'http://h', token: 't', fetch: stub(200, { read_receipts: 'no', show_last_seen: true }) });
    await expect(bad.settings()).rejects.toMatchObject({ code: ErrorCode.Internal });
  });

  it('derives the socket URL', () => {
    expect(socketUrl('http://localhost:8787')).toBe('ws://localhost:8787/v1/ws');
    expect(socketUrl('https://x.example/base/')).toBe('wss://x.example/base/v1/ws');
  });
});
