/**
 * Reads a V8 .cpuprofile (from `node --cpu-prof`) and prints where the time
 * went: the top functions by self time, and self time summed by source file,
 * package and category. It exists so a profile taken under load on a machine
 * with no browser can be read from the command line.
 *
 *   npx tsx bench/profile-top.ts --file FILE.cpuprofile [--top 30] [--filter substring]
 *     [--from-s S] [--to-s S]   (only samples in that window, seconds from the profile's start)
 *
 * Prints one JSON line on stdout and a readable table on stderr.
 */
import { readFileSync } from 'node:fs';
import { UsageError, num, parseFlags } from './args.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Group a script URL into a package-ish bucket: node_modules/<pkg>, the workspace package, node: internals. */
function bucket(url: string): string {
  if (url === '') return '(native/vm)';
  if (url.startsWith('node:')) return 'node:internal';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /\/(packages\/[^/]+|bench|apps\/[^/]+)\//.exec(url);
  return m ? m[1]! : url;
}

export function summarize(p: Profile, top: number, filter: string | undefined, fromS = 0, toS = Infinity) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = 0;
  let first = Infinity;
  let last = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0;
    t += d;
    if (t < fromS * 1e6 || t > toS * 1e6) continue;
    first = Math.min(first, t - d);
    last = t;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + d);
  }
  const totalUs = Math.max(0, last - first);
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const pkg = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    if (filter && !url.includes(filter) && !functionName.includes(filter)) continue;
    const short = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|packages|bench)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    file.set(short || functionName, (file.get(short || functionName) ?? 0) + us);
    pkg.set(bucket(url) === '(native/vm)' ? functionName : bucket(url), (pkg.get(bucket(url) === '(native/vm)' ? functionName : bucket(url)) ?? 0) + us);
  }
  const busy = totalUs - idle;
  const rank = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => ({ what: k, ms: Math.round(us / 100) / 10, pct_busy: Math.round((us / Math.max(1, busy)) * 1000) / 10 }));
  return {
    bench: 'profile-top',
    wall_ms: Math.round(totalUs / 1000),
    busy_ms: Math.round(busy / 1000),
    functions: rank(fn, top),
    files: rank(file, Math.min(top, 20)),
    packages: rank(pkg, 15),
  };
}

const f = parseFlags(process.argv.slice(2), ['file', 'top', 'filter', 'from-s', 'to-s']);
const path = f.get('file');
if (!path) throw new UsageError('usage: tsx bench/profile-top.ts --file FILE.cpuprofile [--top N] [--filter S]');
const s = summarize(JSON.parse(readFileSync(path, 'utf8')) as Profile, num(f, 'top', 30, 1, 500, true), f.get('filter'), num(f, 'from-s', 0, 0, 1e6), num(f, 'to-s', Infinity, 0, Infinity));
process.stderr.write(`wall ${s.wall_ms} ms, busy ${s.busy_ms} ms\n`);
for (const [title, rows] of [['packages', s.packages], ['files', s.files], ['functions', s.functions]] as const) {
  process.stderr.write(`-- ${title} (self time)\n`);
  for (const r of rows) process.stderr.write(`${String(r.ms).padStart(9)} ms ${String(r.pct_busy).padStart(5)}%  ${r.what}\n`);
}
process.stdout.write(`${JSON.stringify(s)}\n`);
