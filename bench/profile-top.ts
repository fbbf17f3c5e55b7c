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
 *
 * tsx compiles each TypeScript file to (nearly) a single line, so V8 reports
 * every function in it at line 1. Such positions are mapped back to source lines by
 * compiling the file again the way tsx does (esbuild, whitespace minified,
 * names kept) and reading the source map. If the named functions are not at
 * their profiled columns in that code (the file changed since the profile, or
 * tsx compiled it differently), its functions keep line 1 and the file is
 * listed under `unmapped_files`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { SourceMapConsumer } from 'source-map-js';
import { UsageError, num, parseFlags } from './args.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber?: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Share of a file's named functions that must sit at their profiled columns in the recompiled code for its lines to be trusted. */
const MIN_NAMES_AT_COLUMN = 0.8;

interface Compiled {
  /** The compiled code, by line (a template literal with newlines still spans several). */
  readonly lines: readonly string[];
  readonly map: SourceMapConsumer;
}

/** The file at `url` compiled as tsx compiles it, or null when it is not a TypeScript file on disk (or fails to compile). */
function compile(url: string): Compiled | null {
  const m = /^file:\/\/.*\.(ts|tsx|mts|cts)$/.exec(url);
  if (!m) return null;
  try {
    const path = fileURLToPath(url);
    const r = transformSync(readFileSync(path, 'utf8'), {
      loader: m[1] === 'tsx' ? 'tsx' : 'ts',
      format: 'esm',
      target: `node${process.versions.node}`,
      keepNames: true,
      minifyWhitespace: true,
      sourcemap: 'external',
      sourcefile: path,
    });
    return { lines: r.code.split('\n'), map: new SourceMapConsumer(JSON.parse(r.map) as ConstructorParameters<typeof SourceMapConsumer>[0]) };
  } catch {
    return null;
  }
}

/** Source lines (1-based) of frames in compiled TypeScript, per node id; and the files whose recompiled code did not match the profile. */
function sourceLines(nodes: readonly ProfileNode[]): { lines: Map<number, number>; unmapped: string[] } {
  const byUrl = new Map<string, ProfileNode[]>();
  for (const n of nodes) {
    if (n.callFrame.columnNumber === undefined || n.callFrame.columnNumber < 0) continue;
    const list = byUrl.get(n.callFrame.url) ?? [];
    list.push(n);
    byUrl.set(n.callFrame.url, list);
  }
  const lines = new Map<number, number>();
  const unmapped: string[] = [];
  for (const [url, list] of byUrl) {
    const c = compile(url);
    if (!c) continue;
    // V8 puts a function at the column of its parameter list: a named one follows its name there.
    const named = list.filter((n) => n.callFrame.functionName !== '' && !n.callFrame.functionName.startsWith('<')); // not <static_initializer>
    const before = (n: ProfileNode) =>
      (c.lines[n.callFrame.lineNumber] ?? '').slice(Math.max(0, n.callFrame.columnNumber! - n.callFrame.functionName.length - 1), n.callFrame.columnNumber);
    const at = named.filter((n) => before(n).endsWith(n.callFrame.functionName) || before(n).endsWith(`${n.callFrame.functionName}=`));
    if (named.length > 0 && at.length < named.length * MIN_NAMES_AT_COLUMN) {
      unmapped.push(url.replace(/^file:\/\//, ''));
      continue;
    }
    for (const n of list) {
      const pos = c.map.originalPositionFor({ line: n.callFrame.lineNumber + 1, column: n.callFrame.columnNumber! });
      if (pos.line) lines.set(n.id, pos.line);
    }
  }
  return { lines, unmapped };
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
  const { lines, unmapped } = sourceLines(p.nodes);
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
    const key = `${functionName || '(anonymous)'} ${short}:${lines.get(id) ?? lineNumber + 1}`;
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
    unmapped_files: unmapped,
  };
}

const f = parseFlags(process.argv.slice(2), ['file', 'top', 'filter', 'from-s', 'to-s']);
const path = f.get('file');
if (!path) throw new UsageError('usage: tsx bench/profile-top.ts --file FILE.cpuprofile [--top N] [--filter S]');
const s = summarize(JSON.parse(readFileSync(path, 'utf8')) as Profile, num(f, 'top', 30, 1, 500, true), f.get('filter'), num(f, 'from-s', 0, 0, 1e6), num(f, 'to-s', Infinity, 0, Infinity));
process.stderr.write(`wall ${s.wall_ms} ms, busy ${s.busy_ms} ms\n`);
if (s.unmapped_files.length > 0) process.stderr.write(`not matched to the profile (changed since, or compiled differently), shown at line 1: ${s.unmapped_files.join(', ')}\n`);
for (const [title, rows] of [['packages', s.packages], ['files', s.files], ['functions', s.functions]] as const) {
  process.stderr.write(`-- ${title} (self time)\n`);
  for (const r of rows) process.stderr.write(`${String(r.ms).padStart(9)} ms ${String(r.pct_busy).padStart(5)}%  ${r.what}\n`);
}
process.stdout.write(`${JSON.stringify(s)}\n`);
