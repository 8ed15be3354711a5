/**
 * The API's description: OpenAPI from the routes' own schemas at /docs (open: it holds no data), and the route table
 * every route registers into with its access class (the authorization matrix test walks it).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { RouteAccess } from '../../core/auth';

/** RouteEntry is one route of the app and the access class it declared. */
export interface RouteEntry {
  method: string;
  url: string;
  access: RouteAccess | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: readonly RouteEntry[];
  }
}

/** registerDocs serves /docs and keeps the route table; call it before any route is added. */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  // The API's description is public (it holds no data): /docs and its assets need no key.
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/')) route.config = { ...(route.config ?? {}), access: 'open' };
  });
  // Every route with its access class (the authorization matrix test walks it).
  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routeTable.push({ method, url: route.url, access: (route.config as { access?: RouteAccess } | undefined)?.access });
    }
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'performance-monitoring', version: '0.1.0', description: 'Monitoring and alerting for the trading platform. Every route but /healthz, /docs and the signed action links needs `Authorization: Bearer <token>`; roles: service (ingest, internal reads), viewer (public reads of its services, acting on their alerts), admin (everything).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
