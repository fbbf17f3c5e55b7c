/** Every HTTP error leaves as `{error: {code, message}}` with the status that goes with its code. */
import { ErrorCode, HTTP_STATUS, TidingsError } from '@tidings/shared';
import type { FastifyError, FastifyInstance } from 'fastify';
import { toStoreError } from '../storage/errors.js';

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | TidingsError | Error, req, reply) => {
    let e: TidingsError;
    if (err instanceof TidingsError) e = err;
    else if ('code' in err && err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') e = new TidingsError(ErrorCode.PayloadTooLarge, 'request body is too large');
    else if ('statusCode' in err && err.statusCode === 400 && 'code' in err && typeof err.code === 'string' && err.code.startsWith('FST_ERR_CTP')) {
      e = new TidingsError(ErrorCode.InvalidArgument, `malformed request body: ${err.message}`);
    } else if ('statusCode' in err && err.statusCode === 415) {
      e = new TidingsError(ErrorCode.InvalidArgument, 'request bodies must be application/json');
    } else if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode < 500) {
      e = new TidingsError(ErrorCode.InvalidArgument, err.message);
    } else {
      e = toStoreError(err);
      req.log.error({ err }, 'request failed');
    }
    const status = HTTP_STATUS[e.code];
    if (e.details?.retryAfterMs !== undefined) void reply.header('retry-after', Math.ceil(e.details.retryAfterMs / 1000));
    void reply.status(status).send({ error: { code: e.code, message: e.message } });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: ErrorCode.NotFound, message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });
}
