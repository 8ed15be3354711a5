import type { Rejection } from './samples';

/** The error catalogue: every error the API answers with, and every non-retryable failure type of the workflows. */

/** ErrorCode is the `error` field of an API error body. */
export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'invalid_json'
  | 'invalid_exposition'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'conflict'
  | 'ingest_queue_full'
  | 'storage_unavailable'
  | 'workflows_unavailable'
  | 'cache_unavailable'
  | 'query_timeout'
  | 'too_many_queries'
  | 'rate_limited'
  | 'not_configured'
  | 'internal_error';

/**
 * FieldError is bad input that names where it is: a field of a body or file, or a variable of the environment. Its
 * message leads with the field. Each kind of input has its subclass (ConfigError, EscalationError, SilenceError,
 * SloError), so callers can tell them apart.
 */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = new.target.name;
  }
}

/** ApiError is an error with the HTTP status, catalogue code and (for input errors) the field it concerns. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** storageUnavailable is the 503 answered when ClickHouse cannot take a write: the client should retry. */
export function storageUnavailable(): ApiError {
  return new ApiError(503, 'storage_unavailable', 'metrics storage is unavailable; nothing was stored, retry later', undefined, 5);
}

/** nothingValid is the 400 answered when no item of a body was valid: it names the first rejected field. */
export function nothingValid(rejected: readonly Rejection[], what: string): ApiError {
  const first = rejected[0];
  return new ApiError(400, 'validation_failed', first ? `${first.field}: ${first.error}` : `no ${what} in body`, first?.field ?? 'body');
}
