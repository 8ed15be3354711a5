import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config';
import { fromRoot } from './paths';

/** LinkAction is what an e-mail link does. */
export type LinkAction = 'acknowledge' | 'resolve';

/** LinkClaims are what a signed link carries: the alert occurrence, the action, who it was sent to, and its expiry. */
export interface LinkClaims {
  alertId: string;
  action: LinkAction;
  recipient: string;
  expiresAtMs: number;
}

/**
 * linkSecret returns ALERT_LINK_SECRET, or the secret in linkSecretFile, created with 32 random bytes the first time
 * (the worker signs links and the API verifies them: both read the same file on one machine).
 */
export function linkSecret(config: Pick<Config, 'linkSecret' | 'linkSecretFile'>): string {
  if (config.linkSecret) return config.linkSecret;
  const file = fromRoot(config.linkSecretFile);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(path.dirname(file), { recursive: true });
    try {
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      // Another process created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return readFileSync(file, 'utf8').trim();
  }
}

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

/** signLink makes the token of an e-mail link: base64url(claims) + "." + base64url(HMAC-SHA256). */
export function signLink(secret: string, claims: LinkClaims): string {
  const payload = Buffer.from(JSON.stringify({ id: claims.alertId, a: claims.action, to: claims.recipient, exp: claims.expiresAtMs })).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** LinkError says why a link token is refused. */
export class LinkError extends Error {
  constructor(
    message: string,
    readonly expired = false,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}

/** verifyLink checks a token's signature (in constant time) and expiry and returns its claims. */
export function verifyLink(secret: string, token: string, nowMs: number): LinkClaims {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) throw new LinkError('malformed link token');
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new LinkError('link signature does not match');
  let raw: { id?: unknown; a?: unknown; to?: unknown; exp?: unknown };
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof raw;
  } catch {
    throw new LinkError('malformed link token');
  }
  if (typeof raw.id !== 'string' || (raw.a !== 'acknowledge' && raw.a !== 'resolve') || typeof raw.to !== 'string' || typeof raw.exp !== 'number') {
    throw new LinkError('malformed link token');
  }
  if (nowMs > raw.exp) throw new LinkError('this link has expired; open the alert in Slack or the dashboard', true);
  return { alertId: raw.id, action: raw.a, recipient: raw.to, expiresAtMs: raw.exp };
}
