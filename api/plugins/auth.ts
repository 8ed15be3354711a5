import type { FastifyInstance, FastifyRequest } from 'fastify';
import { mayAccess, mayReadService, type ApiKey, type RouteAccess } from '../../core/auth';
import { ApiError } from '../../core/errors';
import type { KeyRing } from '../keys';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** access classifies the route for the auth hook; routes without it are refused. */
    access?: RouteAccess;
  }
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
}

/**
 * tokenOf reads the key's token from an Authorization header: `Bearer <token>`, or `Basic base64(<any user>:<token>)`
 * for the clients that only speak basic auth (Prometheus' own: promtool, remote_write and alertmanagers configs with
 * basic_auth; the user name is not checked — by convention the key's name).
 */
export function tokenOf(header: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
}

/** registerAuth adds the hook that authenticates every request and checks its role against the route's access class. */
export function registerAuth(app: FastifyInstance, keyRing: KeyRing): void {
  app.decorateRequest('apiKey', undefined);
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === 'open' || access === 'signed') return;
    if (access === undefined && request.routeOptions.url !== undefined) {
      throw new ApiError(500, 'internal_error', `route ${request.routeOptions.url} declares no access class`);
    }
    const token = tokenOf(request.headers.authorization ?? '');
    const key = token ? keyRing.find(token) : undefined;
    if (!key) throw new ApiError(401, 'unauthorized', 'missing or invalid bearer token (or basic auth password)', 'Authorization');
    if (access && !mayAccess(key.role, access)) {
      throw new ApiError(403, 'forbidden', `role "${key.role}" may not call this route`);
    }
    request.apiKey = key;
  });
}

/** assertServiceScope refuses a request for a service outside the caller's key scope. */
export function assertServiceScope(request: FastifyRequest, service: string): void {
  if (request.apiKey && !mayReadService(request.apiKey, service)) {
    throw new ApiError(403, 'forbidden', `this key may not read service "${service}"`, 'service_name');
  }
}
