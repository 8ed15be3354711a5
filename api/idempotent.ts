import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IdempotencyStore } from '../activities/idempotency';
import { ApiError } from '../core/errors';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * idempotent runs a write once per (caller, Idempotency-Key): a retry with the same key gets the first answer
 * (header Idempotent-Replayed: true) and stores nothing; a retry while the first is still running gets 409; a
 * failed write releases the key so the retry is processed afresh. Without the header the write simply runs.
 */
export async function idempotent<T>(
  store: IdempotencyStore,
  request: FastifyRequest,
  reply: FastifyReply,
  write: () => Promise<T>,
): Promise<T> {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return write();
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new ApiError(400, 'bad_request', 'Idempotency-Key must be 1-255 printable ASCII characters', 'Idempotency-Key');
  }
  const scope = `${request.apiKey?.name ?? 'anonymous'}:${request.routeOptions.url}`;
  const previous = await store.begin(scope, key);
  if (previous.state === 'done') {
    void reply.header('Idempotent-Replayed', 'true');
    return previous.response as T;
  }
  if (previous.state === 'in-progress') {
    throw new ApiError(409, 'conflict', 'a request with this Idempotency-Key is still being processed; retry later', 'Idempotency-Key', 1);
  }
  try {
    const response = await write();
    await store.complete(scope, key, response);
    return response;
  } catch (err) {
    await store.abort(scope, key);
    throw err;
  }
}
