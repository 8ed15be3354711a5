import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../deps';

/** healthRoutes serves GET /healthz (open): whether ClickHouse and Redis answer. */
export function healthRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/healthz',
      {
        config: { access: 'open' },
        schema: {
          response: {
            200: Type.Object({
              status: Type.String(),
              checks: Type.Object({ clickhouse: Type.String(), redis: Type.String() }),
            }),
          },
        },
      },
      async () => {
        const [clickhouse, redis] = await Promise.all([
          deps.telemetry.timed('clickhouse', 'ping', () => deps.clickhouse.ping()).then((r) => (r.success ? 'ok' : 'down')),
          deps.telemetry.timed('redis', 'ping', () => deps.redis.ping()).then(
            () => 'ok',
            () => 'down',
          ),
        ]);
        return { status: clickhouse === 'ok' && redis === 'ok' ? 'ok' : 'degraded', checks: { clickhouse, redis } };
      },
    );
  };
}
