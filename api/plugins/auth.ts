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

/** registerAuth adds the hook that authenticates every request and checks its role against the route's access class. */
export function registerAuth(app: FastifyInstance, keyRing: KeyRing): void {
  app.decorateRequest('apiKey', undefined);
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === 'open' || access === 'signed') return;
    if (access === undefined && request.routeOptions.url !== undefined) {
      throw new ApiError(500, 'internal_error', `route ${request.routeOptions.url} declares no access class`);
    }
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const key = match ? keyRing.find(match[1]!) : undefined;
    if (!key) throw new ApiError(401, 'unauthorized', 'missing or invalid bearer token', 'Authorization');
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
