import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { PROJECT_ROOT } from '../../store/paths';

/** The page's files: its own (api/static) and uPlot's build from node_modules, read once at start. */
const FILES: Record<string, { file: string; type: string; cache: string }> = {
  '/': { file: 'api/static/index.html', type: 'text/html; charset=utf-8', cache: 'no-cache' },
  '/static/dashboard.js': { file: 'api/static/dashboard.js', type: 'text/javascript; charset=utf-8', cache: 'no-cache' },
  '/static/dashboard.css': { file: 'api/static/dashboard.css', type: 'text/css; charset=utf-8', cache: 'no-cache' },
  '/static/uPlot.iife.min.js': { file: 'node_modules/uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8', cache: 'public, max-age=86400' },
  '/static/uPlot.min.css': { file: 'node_modules/uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8', cache: 'public, max-age=86400' },
};

/**
 * pageRoutes serves the dashboard page at `/` and its assets. They hold no data (the page asks for a token and
 * reads the API with it), so they are open; the page may not be framed and runs only its own scripts.
 */
export const pageRoutes: FastifyPluginAsync = async (app) => {
  for (const [url, { file, type, cache }] of Object.entries(FILES)) {
    const body = readFileSync(path.join(PROJECT_ROOT, file));
    app.get(url, { config: { access: 'open' }, schema: { hide: true } }, async (_request, reply) =>
      reply
        .type(type)
        .header('cache-control', cache)
        .header('x-content-type-options', 'nosniff')
        .header('x-frame-options', 'DENY')
        .header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
        .send(body),
    );
  }
};
