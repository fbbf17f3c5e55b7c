/**
 * Serves the built PWA (apps/web/dist) from the same origin as the API, with
 * caching that suits it: the shell, service worker and manifest revalidate;
 * hashed assets are immutable.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

const NO_CACHE = new Set(['/', '/index.html', '/sw.js', '/manifest.webmanifest']);

export async function serveWebApp(app: FastifyInstance, dir: string | undefined): Promise<boolean> {
  if (!dir || !existsSync(path.join(dir, 'index.html'))) return false;
  await app.register(fastifyStatic, {
    root: path.resolve(dir),
    wildcard: false,
    index: ['index.html'],
    setHeaders(res, filePath) {
      const rel = '/' + path.relative(dir, filePath).split(path.sep).join('/');
      if (NO_CACHE.has(rel)) res.header('cache-control', 'no-cache');
      else if (rel.startsWith('/assets/')) res.header('cache-control', 'public, max-age=31536000, immutable');
      if (rel.endsWith('.webmanifest')) res.header('content-type', 'application/manifest+json');
    },
  });
  return true;
}
