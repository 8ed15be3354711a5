/**
 * OTLP/HTTP's transport rules (https://opentelemetry.io/docs/specs/otlp/#otlphttp), shared by POST /v1/traces and
 * POST /v1/metrics: bodies in protobuf (`application/x-protobuf`) or JSON (`application/json`), optionally gzip;
 * the answer in the request's encoding — an Export*ServiceResponse (with its partial success) on 200, a
 * google.rpc.Status on failure, 400 for what must not be retried and 429/503 with Retry-After for what may be.
 */
import { gunzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../core/errors';
import { GRPC_CODES, statusBody } from '../core/otlp';

/** otlpIsJson says whether a request is OTLP/JSON (else protobuf). */
export const otlpIsJson = (request: FastifyRequest) => (request.headers['content-type'] ?? '').startsWith('application/json');

/** otlpBody is the request's body bytes, gunzipped when sent with Content-Encoding: gzip (bounded by maxBytes). */
export function otlpBody(request: FastifyRequest, maxBytes: number): Buffer {
  const body = request.body as Buffer;
  const encoding = request.headers['content-encoding'];
  if (encoding === undefined || encoding === 'identity') return body;
  if (encoding !== 'gzip') throw new ApiError(415, 'unsupported_media_type', `Content-Encoding ${encoding}: OTLP bodies are sent as they are or gzip`, 'content-encoding');
  try {
    return gunzipSync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new ApiError(413, 'payload_too_large', `the body decompresses to more than ${maxBytes} bytes`, 'body');
    throw new ApiError(400, 'bad_request', `the body is not valid gzip: ${(err as Error).message}`, 'body');
  }
}

const GRPC_OF_STATUS: Record<number, number> = { 400: GRPC_CODES.invalidArgument, 401: GRPC_CODES.unauthenticated, 403: GRPC_CODES.permissionDenied, 413: GRPC_CODES.invalidArgument, 415: GRPC_CODES.invalidArgument, 429: GRPC_CODES.resourceExhausted, 503: GRPC_CODES.unavailable };

/**
 * otlpAnswer runs an export and answers it in OTLP's terms: the handler's response on 200, and each ApiError as a
 * Status in the request's encoding (the error handler's JSON body is not what an OTLP exporter reads). Anything
 * else goes to the app's error handler (a 500, logged).
 */
export async function otlpAnswer(request: FastifyRequest, reply: FastifyReply, run: (json: boolean) => Promise<Record<string, unknown> | Uint8Array>): Promise<FastifyReply> {
  const json = otlpIsJson(request);
  try {
    const response = await run(json);
    return json ? reply.code(200).type('application/json').send(response) : reply.code(200).type('application/x-protobuf').send(Buffer.from(response as Uint8Array));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.retryAfterSeconds) void reply.header('retry-after', String(err.retryAfterSeconds));
    const message = err.field ? `${err.field}: ${err.message}` : err.message;
    const body = statusBody(GRPC_OF_STATUS[err.statusCode] ?? GRPC_CODES.internal, message, json);
    return json ? reply.code(err.statusCode).type('application/json').send(body) : reply.code(err.statusCode).type('application/x-protobuf').send(Buffer.from(body as Uint8Array));
  }
}
