/**
 * Media over HTTP:
 *   POST /v1/uploads {sha256, size}            -> {upload_id, exists, chunk_bytes, chunk_count, received}
 *   GET  /v1/uploads/:id                       -> the same (resume: which chunks are stored)
 *   PUT  /v1/uploads/:id/chunks/:index         (application/octet-stream) -> {index}
 *   POST /v1/uploads/:id/complete              -> {file_id, size}   (hash verified before the blob is visible)
 *   POST /uploadFile[?sha256=]                 (application/octet-stream, small files) -> {file_id, size}
 *   GET  /downloadFile?file_id=, GET /v1/blobs/:id   (Range -> 206)
 *   POST /v1/blobs/:id/attach {conversation_id}, POST /v1/blobs/:id/detach {conversation_id}
 *   GET  /v1/media/usage                       -> {used, quota}
 * Bodies stream from the socket to disk or S3; nothing holds a whole file in memory.
 */
import { HTTP_LIMITS, byDeviceToken } from '../http/security.js';
import { ErrorCode, TidingsError, type ConversationId } from '@tidings/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { Accounts } from '../accounts/service.js';
import { authOf } from '../http/auth.js';
import { anyIdSchema, parse } from '../http/validate.js';
import { parseBlobId, type BlobId } from './blob-id.js';
import { parseRange } from './range.js';
import type { Media, UploadState } from './service.js';
import { parseUploadId } from './staging.js';

const blobIdSchema = z.string().transform((v, ctx): BlobId => {
  try {
    return parseBlobId(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be 64 lowercase hex characters' });
    return z.NEVER;
  }
});
const Begin = z.strictObject({ sha256: blobIdSchema, size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });
const Attach = z.strictObject({ conversation_id: anyIdSchema });
const Download = z.strictObject({ file_id: blobIdSchema });
const Single = z.strictObject({ sha256: blobIdSchema.optional() });
const ChunkParams = z.strictObject({ id: z.string(), index: z.string().regex(/^\d{1,9}$/, 'must be a chunk index').transform(Number) });

const stateJson = (s: UploadState) => ({
  upload_id: s.uploadId,
  exists: s.exists,
  chunk_bytes: s.chunkBytes,
  chunk_count: s.chunkCount,
  received: s.received,
});

export function mediaRoutes(app: FastifyInstance, deps: { accounts: Accounts; media: Media; rateLimit: boolean }): void {
  const { accounts, media } = deps;
  // Encapsulated: the raw-stream body parser applies to these routes only.
  void app.register(async (scope) => {
    // Starting an upload is limited per device and per address (one budget for both upload routes); chunks are not counted.
    const [perDevice, perDeviceWindow] = HTTP_LIMITS.uploadsPerDevice;
    const [perIp, perIpWindow] = HTTP_LIMITS.uploadsPerIp;
    const startLimits = deps.rateLimit
      ? { onRequest: [scope.rateLimit({ max: perDevice, timeWindow: perDeviceWindow, keyGenerator: byDeviceToken }), scope.rateLimit({ max: perIp, timeWindow: perIpWindow })] }
      : {};
    scope.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
    // A body refused part-way (too large, bad chunk) is left unread: close the connection rather than reuse it.
    scope.addHook('onError', async (req, reply) => {
      if (!req.raw.complete) void reply.header('connection', 'close');
    });

    scope.post('/v1/uploads', startLimits, async (req) => {
      const auth = await authOf(accounts, req);
      const b = parse(Begin, req.body, 'body');
      return stateJson(await media.begin(auth.userId, b.sha256, b.size));
    });

    scope.get('/v1/uploads/:id', async (req) => {
      const auth = await authOf(accounts, req);
      return stateJson(await media.status(auth.userId, parseUploadId((req.params as { id?: string }).id)));
    });

    scope.put('/v1/uploads/:id/chunks/:index', async (req) => {
      const auth = await authOf(accounts, req);
      const p = parse(ChunkParams, req.params, 'params');
      await media.putChunk(auth.userId, parseUploadId(p.id), p.index, rawBody(req));
      return { index: p.index };
    });

    scope.post('/v1/uploads/:id/complete', async (req) => {
      const auth = await authOf(accounts, req);
      const r = await media.complete(auth.userId, parseUploadId((req.params as { id?: string }).id));
      return { file_id: r.fileId, size: r.size };
    });

    scope.post('/uploadFile', startLimits, async (req) => {
      const auth = await authOf(accounts, req);
      const q = parse(Single, req.query, 'query');
      const r = await media.uploadSingle(auth.userId, rawBody(req), q.sha256);
      return { file_id: r.fileId, size: r.size };
    });

    scope.get('/downloadFile', async (req, reply) => {
      const auth = await authOf(accounts, req);
      return download(req, reply, auth.userId, parse(Download, req.query, 'query').file_id);
    });

    scope.get('/v1/blobs/:id', async (req, reply) => {
      const auth = await authOf(accounts, req);
      return download(req, reply, auth.userId, parseBlobId((req.params as { id?: string }).id));
    });

    scope.post('/v1/blobs/:id/attach', async (req) => {
      const auth = await authOf(accounts, req);
      const b = parse(Attach, req.body, 'body');
      await media.attach(auth.userId, parseBlobId((req.params as { id?: string }).id), b.conversation_id as ConversationId);
      return { ok: true };
    });

    scope.post('/v1/blobs/:id/detach', async (req) => {
      const auth = await authOf(accounts, req);
      const b = parse(Attach, req.body, 'body');
      await media.detach(auth.userId, parseBlobId((req.params as { id?: string }).id), b.conversation_id as ConversationId);
      return { ok: true };
    });

    scope.get('/v1/media/usage', async (req) => {
      const auth = await authOf(accounts, req);
      return media.usage(auth.userId);
    });
  });

  async function download(req: FastifyRequest, reply: FastifyReply, user: Parameters<Media['open']>[0], id: BlobId) {
    let unsatisfiable: number | undefined;
    const opened = await media.open(user, id, (size) => {
      const ask = parseRange(req.headers.range, size);
      if (ask.kind === 'unsatisfiable') unsatisfiable = size;
      return ask.kind === 'range' ? ask.range : undefined;
    });
    void reply
      .header('accept-ranges', 'bytes')
      .header('etag', `"${id}"`)
      // Content-addressed: the bytes under an id never change.
      .header('cache-control', 'private, max-age=31536000, immutable')
      .type('application/octet-stream');
    if (unsatisfiable !== undefined) {
      opened.body.destroy();
      return reply.status(416).type('application/json').header('content-range', `bytes */${unsatisfiable}`).send({ error: { code: ErrorCode.InvalidArgument, message: 'range not satisfiable' } });
    }
    const r = opened.range;
    if (r) {
      void reply.status(206).header('content-range', `bytes ${r.start}-${r.end}/${opened.size}`).header('content-length', r.end - r.start + 1);
    } else {
      void reply.header('content-length', opened.size);
    }
    return reply.send(opened.body);
  }
}

function rawBody(req: FastifyRequest): Readable {
  if (!req.body || typeof (req.body as Readable).pipe !== 'function') {
    throw new TidingsError(ErrorCode.InvalidArgument, 'the body must be application/octet-stream');
  }
  return req.body as Readable;
}
