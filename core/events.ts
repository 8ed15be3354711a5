import { parseTimestamp, type Rejection } from './samples';
import { isRecord } from './guards';

/** BusinessEvent is one business event (a trade, a prediction, a sign-up) with its context: a row of business_events. */
export interface BusinessEvent {
  eventId: string;
  timestampMs: number;
  eventType: string;
  service: string;
  userId: string;
  correlationId: string;
  attributes: Record<string, string>;
  /** The event's numeric measure (attributes.value, amount or volume), 0 when it has none. */
  value: number;
}

const EVENT_TYPE = /^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$/;
const MAX_ATTRIBUTES = 64;
const MAX_STRING = 1024;


function validateEvent(raw: unknown, path: string, now: number, newId: () => string, oldestMs?: number): BusinessEvent {
  const fail = (field: string, error: string): never => {
    throw Object.assign(new Error(error), { field: `${path}${field ? `.${field}` : ''}` });
  };
  if (!isRecord(raw)) return fail('', 'expected an event object');
  const str = (key: string, required: boolean): string => {
    const value = raw[key];
    if (value === undefined && !required) return '';
    if (typeof value !== 'string' || (required && value.length === 0)) return fail(key, required ? 'required non-empty string' : 'expected a string');
    if (value.length > MAX_STRING) return fail(key, `longer than ${MAX_STRING} characters`);
    return value;
  };
  const eventType = str('event_type', true);
  if (!EVENT_TYPE.test(eventType)) fail('event_type', 'must match [a-zA-Z_][a-zA-Z0-9_.:-]*');
  if (raw.timestamp === undefined) fail('timestamp', 'required');
  let timestampMs = 0;
  try {
    timestampMs = parseTimestamp(raw.timestamp, `${path}.timestamp`, now, oldestMs);
  } catch (err) {
    fail('timestamp', (err as Error).message);
  }
  const rawAttributes = raw.attributes ?? {};
  if (!isRecord(rawAttributes)) fail('attributes', 'expected an object of strings, numbers or booleans');
  const entries = Object.entries(rawAttributes as Record<string, unknown>);
  if (entries.length > MAX_ATTRIBUTES) fail('attributes', `more than ${MAX_ATTRIBUTES} attributes`);
  const attributes: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'string' && typeof value !== 'boolean') {
      fail(`attributes.${key}`, 'expected a string, a finite number or a boolean');
    }
    const text = String(value);
    if (text.length > MAX_STRING || key.length > 128) fail(`attributes.${key}`, `longer than ${MAX_STRING} characters`);
    attributes[key] = text;
  }
  const measure = ['value', 'amount', 'volume'].map((k) => (rawAttributes as Record<string, unknown>)[k]).find((v) => typeof v === 'number');
  const eventId = str('event_id', false) || newId();
  return {
    eventId,
    timestampMs,
    eventType,
    service: str('service_name', true),
    userId: str('user_id', false),
    correlationId: str('correlation_id', false),
    attributes,
    value: typeof measure === 'number' ? measure : 0,
  };
}

/**
 * validateEvents reads an events POST body (one event, an array, or {"events": [...]}), keeping every valid event
 * and naming every invalid one. `newId` gives events without an event_id one (the caller's id makes a retry harmless).
 */
export function validateEvents(body: unknown, now: number, newId: () => string, oldestMs?: number): { events: BusinessEvent[]; rejected: Rejection[] } {
  const [list, prefix]: [unknown[], string | null] = Array.isArray(body)
    ? [body, 'body']
    : isRecord(body) && Array.isArray(body.events)
      ? [body.events, 'body.events']
      : [[body], null];
  const events: BusinessEvent[] = [];
  const rejected: Rejection[] = [];
  list.forEach((raw, index) => {
    try {
      events.push(validateEvent(raw, prefix ? `${prefix}[${index}]` : 'body', now, newId, oldestMs));
    } catch (err) {
      rejected.push({ index, field: (err as { field?: string }).field ?? 'body', error: (err as Error).message });
    }
  });
  return { events, rejected };
}
