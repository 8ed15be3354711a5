/**
 * The app's one error shape: every error answers `{error, message, field?}` — an ApiError as it says, a schema
 * validation 400 naming the field, Fastify's own 4xx mapped to the catalogue (core/errors.ts), anything else a
 * generic 500 that is logged but never shows the driver's text — and an unknown route a 404.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiError } from '../../core/errors';

function errorField(err: FastifyError): string | undefined {
  const first = err.validation?.[0];
  if (!first) return undefined;
  const context = err.validationContext ?? 'body';
  const missing = (first.params as { missingProperty?: string } | undefined)?.missingProperty;
  const pointer = `${first.instancePath}${missing ? `/${missing}` : ''}`;
  return pointer ? `${context}${pointer.replaceAll('/', '.')}` : context;
}

/** registerErrors sets the app's error and not-found handlers. */
export function registerErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    if (err instanceof ApiError) {
      if (err.retryAfterSeconds) void reply.header('Retry-After', String(err.retryAfterSeconds));
      if (err.statusCode >= 500) request.log.error({ err }, err.message);
      return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) });
    }
    if (err.validation) {
      const field = errorField(err);
      return reply.code(400).send({ error: 'validation_failed', message: err.message, ...(field ? { field } : {}) });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) {
      const code =
        err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError
          ? 'invalid_json'
          : status === 413
            ? 'payload_too_large'
            : status === 415
              ? 'unsupported_media_type'
              : 'bad_request';
      const field = code === 'invalid_json' || code === 'payload_too_large' ? 'body' : status === 415 ? 'Content-Type' : undefined;
      return reply.code(status).send({ error: code, message: err.message, ...(field ? { field } : {}) });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: 'internal_error', message: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

}
