#!/usr/bin/env node
// Dependencies point one way: apps/web -> client -> shared, sync-server -> shared.
// Fails when source imports a package (or reaches into a package's files) it must not.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const ALLOWED = {
  'packages/shared': [],
  'packages/client': ['@tidings/shared'],
  'packages/sync-server': ['@tidings/shared'],
  'apps/web': ['@tidings/client', '@tidings/shared'],
};
// Sub-paths a package publishes in its package.json "exports" (entry points, not its internals).
const PUBLIC_SUBPATHS = ['@tidings/client/node', '@tidings/client/media'];
const problems = [];
function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|tsx|js|mjs)$/.test(name)) yield p;
  }
}
for (const [pkg, allowed] of Object.entries(ALLOWED)) {
  const src = path.join(pkg, 'src');
  try {
    statSync(src);
  } catch {
    continue;
  }
  for (const file of files(src)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)) {
      const spec = m[1];
      if (spec.startsWith('@tidings/')) {
        const name = spec.split('/').slice(0, 2).join('/');
        if (!allowed.includes(name)) problems.push(`${file}: imports ${spec}, but ${pkg} may import only ${allowed.join(', ') || 'no workspace package'}`);
        if (spec.split('/').length > 2 && !PUBLIC_SUBPATHS.includes(spec)) problems.push(`${file}: reaches into ${spec}; import the package entry instead`);
      } else if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        if (!target.startsWith(path.resolve(pkg) + path.sep)) problems.push(`${file}: relative import ${spec} leaves ${pkg}`);
      }
    }
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('dependency directions ok');
