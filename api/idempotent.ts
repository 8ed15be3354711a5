import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IdempotencyStore } from '../store/idempotency';
import { ApiError } from '../core/errors';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const NOTHING_STORED = Symbol('nothingStored');

/** nothingStored marks a write's error as one that stored nothing (a refused queue): the retry starts afresh. */
export function nothingStored<E extends Error>(err: E): E {
  (err as E & { [NOTHING_STORED]?: true })[NOTHING_STORED] = true;
  return err;
}

function idempotencyKey(request: FastifyRequest): { scope: string; key: string } | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new ApiError(400, 'bad_request', 'Idempotency-Key must be 1-255 printable ASCII characters', 'Idempotency-Key');
  }
  return { scope: `${request.apiKey?.name ?? 'anonymous'}:${request.routeOptions.url}`, key };
}

/**
 * ingestIdentity is the id a keyed request stamps on what it stores (32 hex characters of a hash of caller, route
 * and key), so a recovering retry finds what landed; undefined without an Idempotency-Key.
 */
export function ingestIdentity(request: FastifyRequest): string | undefined {
  const claim = idempotencyKey(request);
  return claim && createHash('sha256').update(`${claim.scope}\n${claim.key}`).digest('hex').slice(0, 32);
}

/**
 * idempotent runs a write once per (caller, Idempotency-Key): a retry with the same key gets the first answer
 * (header Idempotent-Replayed: true) and stores nothing; a retry while the first is still running gets 409. When
 * the first attempt died or failed after it may have stored something, the retry runs `write(true)`, which must
 * store only what is missing (header Idempotent-Recovered: true). Without the header the write simply runs.
 */
export async function idempotent<T>(
  store: IdempotencyStore,
  request: FastifyRequest,
  reply: FastifyReply,
  write: (recovering: boolean) => Promise<T>,
): Promise<T> {
  const claim = idempotencyKey(request);
  if (claim === undefined) return write(false);
  const { scope, key } = claim;
  const previous = await store.begin(scope, key);
  if (previous.state === 'done') {
    void reply.header('Idempotent-Replayed', 'true');
    return previous.response as T;
  }
  if (previous.state === 'in-progress') {
    throw new ApiError(409, 'conflict', 'a request with this Idempotency-Key is still being processed; retry later', 'Idempotency-Key', 1);
  }
  const recovering = previous.state === 'recover';
  const stop = store.keepAlive(scope, key);
  try {
    const response = await write(recovering);
    if (recovering) void reply.header('Idempotent-Recovered', 'true');
    await store.complete(scope, key, response);
    return response;
  } catch (err) {
    // A recovering attempt never releases the key: an earlier attempt may have stored part of the batch, which
    // the next retry must find again.
    await store.abort(scope, key, !recovering && (err as { [NOTHING_STORED]?: true })[NOTHING_STORED] === true);
    throw err;
  } finally {
    stop();
  }
}
