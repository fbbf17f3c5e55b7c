/**
 * fast-check arbitraries for hostile HTTP requests to every endpoint:
 * malformed JSON, wrong types, unknown fields, oversized bodies and strings,
 * negative/huge/NaN numbers, path-like and unicode ids, missing/garbage/other
 * users' bearer tokens, wrong methods and content types.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { MAX_HTTP_JSON_BYTES } from '@tidings/shared';

/** Who and what the fuzzer can name: real ids and tokens from the world it set up. */
export interface HttpWorld {
  /** The attacker's token (a real, signed-in device). */
  readonly token: string;
  /** Tokens of other users (so "a token of another user" is tried against the attacker's own resources). */
  readonly otherTokens: readonly string[];
  readonly userIds: readonly string[];
  readonly usernames: readonly string[];
  /** Groups the attacker is in, and groups it is not in. */
  readonly ownGroups: readonly string[];
  readonly foreignGroups: readonly string[];
  readonly deviceIds: readonly string[];
}

export interface FuzzRequest {
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
}

/** Every route, with a valid body template (mutated into hostile ones). Kept in step with the route files by a test. */
export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  readonly path: string;
  readonly auth: boolean;
  readonly body?: (w: HttpWorld) => fc.Arbitrary<Record<string, unknown>>;
  readonly query?: (w: HttpWorld) => fc.Arbitrary<Record<string, string>>;
  /** Expensive when well formed (password hashing): generate valid-looking bodies rarely. */
  readonly costly?: boolean;
}

const some = <T>(xs: readonly T[], fallback: T): fc.Arbitrary<T> => (xs.length > 0 ? fc.constantFrom(...xs) : fc.constant(fallback));

/** Values that break types and ranges. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    -0,
    1e308,
    -1e308,
    2 ** 53,
    2 ** 63,
    Number.MAX_SAFE_INTEGER + 2,
    [],
    {},
    [[]],
    { $gt: '' },
    { __proto__: { admin: true } },
  ),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1.5',
    '1e3',
    ' 1',
    '0x10',
    '00001',
    '9223372036854775807',
    '9223372036854775808',
    '9999999999999999999',
    '18446744073709551616',
    'NaN',
    'Infinity',
    'null',
    'undefined',
  ),
  fc.constantFrom(
    '../../etc/passwd',
    '..%2F..%2Fetc%2Fpasswd',
    '/etc/passwd',
    'C:\\Windows\\win.ini',
    '%00',
    '\u0000',
    'a\u0000b',
    '\u202eevil',
    '\uFEFF',
    '\ud800',
    '😀',
    'ｍａｌｌｏｒｙ',
    "'; DROP TABLE users; --",
    '<script>alert(1)</script>',
    '${7*7}',
    '{{7*7}}',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(1000, 5000, 70_000).map((n) => 'x'.repeat(n)),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 5 }),
);

const username = fc.stringMatching(/^[A-Za-z0-9_.-]{3,32}$/);

/** Path segments for ids: real, absent, out of range, path-like, unicode. */
function idSegment(real: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    some(real, '1'),
    fc.constantFrom('0', '-1', '1.5', '1e3', '9223372036854775807', '9223372036854775808', '99999999999999999999', 'NaN', 'null', 'me'),
    fc.constantFrom(
      '..',
      '.',
      '%2e%2e',
      '..%2f..%2fetc%2fpasswd',
      '%2e%2e%2f%2e%2e%2f',
      '..\\..\\',
      '%00',
      'a%00b',
      '%ff',
      '%',
      '%zz',
      '%E2%80%AE',
      '%F0%9F%98%80',
      'x'.repeat(3000),
    ),
    fc.string({ maxLength: 12 }).map(encodeURIComponent),
    fc.string({ unit: 'grapheme', maxLength: 8 }).map(encodeURIComponent),
  );
}

export function routes(): RouteSpec[] {
  const uid = (w: HttpWorld) => some(w.userIds, '1');
  return [
    {
      method: 'POST',
      path: '/v1/accounts',
      auth: false,
      costly: true,
      body: () =>
        fc.record({
          username,
          password: fc.string({ minLength: 8, maxLength: 20 }),
          device_name: fc.string({ minLength: 1, maxLength: 10 }),
        }),
    },
    {
      method: 'POST',
      path: '/v1/sessions',
      auth: false,
      costly: true,
      body: (w) =>
        fc.record({
          username: some(w.usernames, 'alice'),
          password: fc.string({ minLength: 8, maxLength: 20 }),
          device_name: fc.constant('fuzz'),
        }),
    },
    { method: 'GET', path: '/v1/me', auth: true },
    {
      method: 'GET',
      path: '/v1/users',
      auth: true,
      query: (w) => fc.record({ ids: fc.array(uid(w), { minLength: 1, maxLength: 4 }).map((a) => a.join(',')) }),
    },
    { method: 'GET', path: '/v1/users/:username', auth: true },
    { method: 'POST', path: '/v1/dms', auth: true, body: (w) => fc.record({ user_id: uid(w) }) },
    {
      method: 'POST',
      path: '/v1/groups',
      auth: true,
      body: (w) => fc.record({ name: fc.string({ minLength: 1, maxLength: 20 }), member_ids: fc.array(uid(w), { maxLength: 3 }) }),
    },
    {
      method: 'POST',
      path: '/v1/groups/:id/members',
      auth: true,
      body: (w) => fc.record({ user_ids: fc.array(uid(w), { minLength: 1, maxLength: 3 }) }),
    },
    { method: 'DELETE', path: '/v1/groups/:id/members/:user_id', auth: true },
    { method: 'GET', path: '/v1/conversations', auth: true },
    {
      method: 'POST',
      path: '/sendMessage',
      auth: true,
      body: (w) =>
        fc.record({
          message_id: fc.string({ minLength: 1, maxLength: 16 }),
          sender_id: uid(w),
          receiver_id: fc.oneof(uid(w), some(w.foreignGroups, '1'), some(w.ownGroups, '1')),
          type: fc.constantFrom('text', 'media', 'document'),
          content: fc.record({ ciphertext: fc.constantFrom('aGk=', 'AAAA', '') }),
        }),
    },
    {
      method: 'GET',
      path: '/getMessages',
      auth: true,
      query: (w) =>
        fc.record(
          {
            chat_id: fc.oneof(uid(w), some(w.foreignGroups, '1'), some(w.ownGroups, '1')),
            limit: fc.constantFrom('1', '50', '200'),
            next_token: fc.constantFrom('djEuMS4x', 'x'),
          },
          { requiredKeys: ['chat_id'] },
        ),
    },
    { method: 'GET', path: '/v1/me/settings', auth: true },
    {
      method: 'PATCH',
      path: '/v1/me/settings',
      auth: true,
      body: () => fc.record({ read_receipts: fc.boolean(), show_last_seen: fc.boolean() }, { requiredKeys: [] }),
    },
    {
      method: 'POST',
      path: '/v1/devices/me/key-packages',
      auth: true,
      body: () => fc.record({ key_packages: fc.array(fc.constantFrom('AAAA', 'AAEAAQ=='), { minLength: 1, maxLength: 3 }) }),
    },
    { method: 'GET', path: '/v1/devices/me/key-packages', auth: true },
    {
      method: 'POST',
      path: '/v1/key-packages/claim',
      auth: true,
      body: (w) => fc.record({ user_ids: fc.array(uid(w), { minLength: 1, maxLength: 3 }) }),
    },
    { method: 'GET', path: '/v1/users/:id/devices', auth: true },
    { method: 'GET', path: '/v1/devices', auth: true },
    // Path ids here are never a real device (idSegment below), so the fuzzer cannot revoke its own world.
    { method: 'DELETE', path: '/v1/devices/:id', auth: true },
    { method: 'GET', path: '/v1/config', auth: false },
    {
      method: 'POST',
      path: '/v1/inbox',
      auth: true,
      body: (w) =>
        fc.record({
          items: fc.array(
            fc.record({
              device_id: some(w.deviceIds, '1'),
              kind: fc.constantFrom('welcome', 'history'),
              body: fc.constantFrom('AAAA', 'aGk='),
            }),
            { minLength: 1, maxLength: 2 },
          ),
        }),
    },
  ];
}

/** Fill a route's path parameters. */
function pathArb(spec: RouteSpec, w: HttpWorld): fc.Arbitrary<string> {
  const parts = spec.path.split('/');
  const segs = parts.map((p): fc.Arbitrary<string> => {
    if (p === ':username') return fc.oneof(some(w.usernames, 'alice'), username, idSegment([]));
    if (p === ':user_id') return idSegment(w.userIds);
    if (p.startsWith(':') && ![':id', ':username', ':user_id'].includes(p)) return idSegment(['1', '0']);
    if (p === ':id' && !/^\/v1\/(users|groups)/.test(spec.path)) return idSegment(['1', 'a'.repeat(64)]);
    if (p === ':id')
      return spec.path.startsWith('/v1/users')
        ? idSegment(w.userIds)
        : fc.oneof(idSegment(w.foreignGroups), idSegment(w.ownGroups), idSegment(w.userIds));
    return fc.constant(p);
  });
  return fc.tuple(...segs).map((s) => s.join('/'));
}

const authHeader = (w: HttpWorld): fc.Arbitrary<Record<string, string>> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant({ authorization: `Bearer ${w.token}` }) },
    { weight: 1, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: some(w.otherTokens, w.token).map((t) => ({ authorization: `Bearer ${t}` })) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            '',
            'Bearer',
            'Bearer ',
            'bearer ' + w.token,
            `Basic ${w.token}`,
            `Bearer ${w.token}x`,
            `Bearer ${w.token.slice(1)}`,
            `Bearer  ${w.token}`,
            `Bearer ${'A'.repeat(257)}`,
            `Bearer ${'A'.repeat(16)}`,
            `Bearer ${w.token}, Bearer ${w.token}`,
          ),
          fc
            .string({ maxLength: 40 })
            .filter((s) => /^[\x20-\x7e]*$/.test(s))
            .map((s) => `Bearer ${s}`),
          fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/).map((s) => `Bearer ${s}`),
        )
        .map((authorization) => ({ authorization })),
    },
  );

const JSON_CT = { 'content-type': 'application/json' };

/** One hostile body for a route with a body template. */
type Body = { kind: string; body: string | Buffer; headers: Record<string, string> };
function bodyArb(spec: RouteSpec, w: HttpWorld): fc.Arbitrary<Body> {
  const template = spec.body ? spec.body(w) : fc.constant<Record<string, unknown>>({});
  const json = (kind: string, v: unknown): Body => ({ kind, body: JSON.stringify(v), headers: JSON_CT });
  const mutated = template.chain((t) => {
    const keys = Object.keys(t);
    const key = keys.length > 0 ? fc.constantFrom(...keys) : fc.constant('x');
    return fc.oneof(
      fc.record({ k: key, v: hostileValue }).map(({ k, v }) => json('wrong_value', { ...t, [k]: v })),
      key.map((k) => {
        const c: Record<string, unknown> = { ...t };
        delete c[k];
        return json('missing_field', c);
      }),
      fc
        .record({ k: fc.constantFrom('admin', 'user_id', 'sender_device_id', '__proto__', 'constructor', 'extra', 'id'), v: hostileValue })
        .map(({ k, v }) => ({
          kind: 'unknown_field',
          body: JSON.stringify(t).replace(/^\{/, `{${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}${keys.length ? ',' : ''}`),
          headers: JSON_CT,
        })),
      // Nested values replaced too (content.ciphertext, items[0].device_id ...).
      fc
        .record({ v: hostileValue })
        .map(({ v }) =>
          json(
            'deep_value',
            JSON.parse(JSON.stringify(t), (_k, x: unknown) => (typeof x === 'string' && x.length < 20 ? v : x)) as unknown,
          ),
        ),
    );
  });
  const malformed = fc.oneof(
    fc.constantFrom(
      '{',
      '}',
      '{"a":',
      '{"a":1,}',
      "{'a':1}",
      'NaN',
      '{"a":NaN}',
      '{"a":Infinity}',
      '{"a":1e999}',
      '[]',
      '[1,2]',
      '"str"',
      '1',
      'null',
      'true',
      '\u0000',
      '{"a":"\\ud800"}',
      '{"a":"\\u0000"}',
      '{"__proto__":{"x":1}}',
      '{"constructor":{"prototype":{"x":1}}}',
      '\uFEFF{}',
    ),
    fc.string({ maxLength: 60 }),
    fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)),
    fc.constantFrom(5000, 20_000).map((d) => '['.repeat(d) + ']'.repeat(d)),
    fc.constantFrom(5000, 20_000).map((d) => '{"a":'.repeat(d) + '1' + '}'.repeat(d)),
  );
  return fc.oneof<fc.WeightedArbitrary<Body>[]>(
    { weight: spec.costly ? 0 : 1, arbitrary: template.map((t) => json('valid', t)) },
    { weight: 10, arbitrary: mutated },
    { weight: 3, arbitrary: malformed.map((body): Body => ({ kind: 'malformed_json', body, headers: JSON_CT })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=latin1',
          'application/xml',
          'Application/JSON',
          '',
        )
        .chain((ct) =>
          template.map((t): Body => ({ kind: 'content_type', body: JSON.stringify(t), headers: ct ? { 'content-type': ct } : {} })),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(MAX_HTTP_JSON_BYTES - 64, MAX_HTTP_JSON_BYTES + 1, MAX_HTTP_JSON_BYTES * 2).chain((size) =>
        key0(template).map(({ t, k }): Body => ({
          kind: 'oversized_body',
          body: JSON.stringify({ ...t, [k]: 'x'.repeat(size) }),
          headers: JSON_CT,
        })),
      ),
    },
  );
}
const key0 = (template: fc.Arbitrary<Record<string, unknown>>) => template.map((t) => ({ t, k: Object.keys(t)[0] ?? 'x' }));

function queryArb(spec: RouteSpec, w: HttpWorld): fc.Arbitrary<{ kind: string; qs: string }> {
  const template = spec.query ? spec.query(w) : fc.constant<Record<string, string>>({});
  const enc = (o: Record<string, string>) => new URLSearchParams(o).toString();
  const hostileStr = fc.oneof(
    hostileValue.map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))),
    fc.constantFrom(
      '-5',
      '0',
      '201',
      '1e309',
      'NaN',
      ' 5',
      '5abc',
      '0x5',
      '9'.repeat(40),
      'djEuOTk5OTk5OTk5OTk5OTk5OTk5OTkuOTk5OTk5OTk5OTk5OTk5OTk5OQ',
    ),
  );
  return template.chain((t) => {
    const keys = Object.keys(t);
    const key = keys.length > 0 ? fc.constantFrom(...keys) : fc.constant('x');
    return fc.oneof(
      { weight: 1, arbitrary: fc.constant({ kind: 'valid', qs: enc(t) }) },
      {
        weight: 6,
        arbitrary: fc.record({ k: key, v: hostileStr }).map(({ k, v }) => ({ kind: 'wrong_value', qs: enc({ ...t, [k]: v }) })),
      },
      {
        weight: 1,
        arbitrary: fc
          .record({ k: fc.constantFrom('extra', 'token', '__proto__', 'constructor'), v: hostileStr })
          .map(({ k, v }) => ({ kind: 'unknown_field', qs: enc({ ...t, [k]: v }) })),
      },
      { weight: 1, arbitrary: key.map((k) => ({ kind: 'duplicate_param', qs: `${enc(t)}&${encodeURIComponent(k)}=1` })) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom('%', '%zz', 'a[b]=1', 'a[__proto__][x]=1', '&&&', '=', '%00=%00')
          .map((raw) => ({ kind: 'raw_query', qs: `${enc(t)}&${raw}` })),
      },
      {
        weight: 1,
        arbitrary: key.map((k) => ({ kind: 'missing_field', qs: enc(Object.fromEntries(Object.entries(t).filter(([x]) => x !== k))) })),
      },
    );
  });
}

/** A hostile request to one of the routes (or a wrong method / unknown path). */
export function requestArb(w: HttpWorld, specs: readonly RouteSpec[] = routes()): fc.Arbitrary<FuzzRequest> {
  const perRoute = specs.map((spec) =>
    fc
      .record({
        path: pathArb(spec, w),
        auth: spec.auth ? authHeader(w) : fc.oneof(fc.constant({}), authHeader(w)),
        body: spec.method === 'GET' || spec.method === 'DELETE' ? fc.constant(undefined) : bodyArb(spec, w),
        query: spec.query
          ? queryArb(spec, w)
          : fc.oneof(
              { weight: 4, arbitrary: fc.constant({ kind: '', qs: '' }) },
              { weight: 1, arbitrary: fc.constant({ kind: 'unexpected_query', qs: 'a=1&token=x' }) },
            ),
      })
      .map(({ path, auth, body, query }): FuzzRequest => ({
        kind: `${spec.method} ${spec.path} ${body?.kind ?? query.kind ?? ''}`.trim(),
        method: spec.method,
        path: path + (query.qs ? `?${query.qs}` : ''),
        headers: { ...auth, ...(body?.headers ?? {}) },
        ...(body ? { body: body.body } : {}),
      })),
  );
  const wrongMethod = fc
    .record({
      spec: fc.constantFrom(...specs),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
      auth: authHeader(w),
    })
    .filter(({ spec, method }) => !specs.some((s) => s.path === spec.path && s.method === method))
    .map(({ spec, method, auth }): FuzzRequest => ({
      kind: `wrong_method ${method} ${spec.path}`,
      method,
      path: spec.path.replace(/:[a-z_]+/g, '1'),
      headers: { ...auth, ...(method === 'GET' || method === 'OPTIONS' ? {} : JSON_CT) },
      ...(method === 'GET' || method === 'OPTIONS' ? {} : { body: '{}' }),
    }));
  const unknownPath = fc
    .record({
      p: fc.constantFrom(
        '/v1',
        '/v1/',
        '/v1/../v1/me',
        '/v1/%2e%2e/me',
        '/v1/me/',
        '//v1/me',
        '/v1/ME',
        '/v2/me',
        '/v1/files/..%2f..%2fetc%2fpasswd',
        '/v1/files/../../etc/passwd',
        '/%00',
        '/sendMessage/..',
        '/v1/groups//members',
      ),
      auth: authHeader(w),
    })
    .map(({ p, auth }): FuzzRequest => ({ kind: 'unknown_path', method: 'GET', path: p, headers: auth }));
  return fc.oneof(
    { weight: 20 * specs.length, arbitrary: fc.oneof(...perRoute) },
    { weight: 3 * specs.length, arbitrary: wrongMethod },
    { weight: specs.length, arbitrary: unknownPath },
  );
}

/** Route declarations in the server's sources (`app.get('/x', ...)`, `scope.put(...)`). */
export function declaredRoutes(sources: readonly string[]): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  for (const text of sources) {
    for (const m of text.matchAll(/\b(?:app|scope|instance|fastify)\.(get|post|put|patch|delete)\(\s*['`]([^'`]+)['`]/g))
      out.push({ method: m[1]!.toUpperCase(), path: m[2]! });
  }
  return out;
}

/** Every route file of the server (routes.ts or *-routes.ts anywhere, plus seed-api.ts and server.ts). */
export function routeSources(srcDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/^(routes|[a-z-]+-routes|seed-api|server)\.ts$/.test(name)) out.push(readFileSync(p, 'utf8'));
    }
  };
  walk(srcDir);
  return out;
}

/** The catalogue plus a generic spec (hostile path ids, generic bodies) for any declared route it lacks. */
export function allRoutes(srcDir: string): { specs: RouteSpec[]; discovered: string[] } {
  const specs = routes();
  const discovered: string[] = [];
  for (const d of declaredRoutes(routeSources(srcDir))) {
    if (['/healthz', '/metrics'].includes(d.path) || specs.some((s) => s.method === d.method && s.path === d.path)) continue;
    discovered.push(`${d.method} ${d.path}`);
    specs.push({
      method: d.method as RouteSpec['method'],
      path: d.path,
      auth: true,
      ...(d.method === 'GET' || d.method === 'DELETE'
        ? {}
        : { body: () => fc.record({ id: fc.constant('1'), size: fc.constant(1), name: fc.constant('a.txt') }, { requiredKeys: [] }) }),
    });
  }
  return { specs, discovered };
}
