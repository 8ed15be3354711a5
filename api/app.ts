/**
 * buildApp assembles the Fastify app without listening (api/server.ts listens): the error shape, the docs and route
 * table, authentication, rate limits, the dependencies (api/deps.ts) and one plugin per route family.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { createDeps, type AppInput } from './deps';
import { KeyRing } from './keys';
import { registerAuth } from './plugins/auth';
import { registerDocs } from './plugins/docs';
import { registerErrors } from './plugins/errors';
import { registerRateLimit } from './plugins/rate-limit';
import { alertActionRoutes } from './routes/alert-actions';
import { businessRoutes } from './routes/business';
import { capacityRoutes } from './routes/capacity';
import { dashboardRoutes } from './routes/dashboard';
import { eventsRoutes } from './routes/events';
import { healthRoutes } from './routes/health';
import { integrationRoutes } from './routes/integrations';
import { prometheusRoutes } from './routes/prometheus';
import { alertmanagerRoutes } from './routes/alertmanager';
import { metricsRoutes } from './routes/metrics';
import { traceRoutes } from './routes/traces';
import { alertHistoryRoutes } from './routes/alert-history';
import { alertTimelineRoutes } from './routes/alert-timeline';
import { evaluationRoutes } from './routes/evaluations';
import { oncallRoutes } from './routes/oncall';
import { backtestRoutes } from './routes/backtest';
import { pagerDutyRoutes } from './routes/pagerduty';
import { cloudwatchRoutes } from './routes/cloudwatch';
import { pageRoutes } from './routes/page';
import { policyRoutes } from './routes/policies';
import { reportRoutes } from './routes/reports';
import { ruleRoutes } from './routes/rules';
import { selfMetricsRoutes } from './routes/self-metrics';
import { serviceRoutes } from './routes/services';
import { silenceRoutes } from './routes/silences';
import { sloRoutes } from './routes/slo';
import { trendRoutes } from './routes/trends';
import { ErrorBody } from './schemas';

export type { AppDeps, AppInput } from './deps';
export type { RouteEntry } from './plugins/docs';

/** redactUrl hides the value of a `token` query parameter (an e-mail link's credential) in a logged URL. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/g, '$1[redacted]');
}

/** buildApp assembles the Fastify app (without listening): auth, error shape, routes. */
export async function buildApp(input: AppInput): Promise<FastifyInstance> {
  const { config } = input;
  const app = Fastify({
    logger: input.logger === true,
    // One line per failed or slow request (below), not two per request: at thousands of dashboard reads a second the
    // per-request lines cost a fifth of a core (bench:dashboard). MONITORING_REQUEST_LOG=all logs every request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.monitoring.maxBodyBytes,
    // Credentials stay out of the logs: the Authorization header, and the signed token of an e-mail link's URL.
    ...(input.logger
      ? {
          logger: {
            ...(typeof input.logger === 'object' ? { stream: input.logger } : {}),
            redact: ['req.headers.authorization'],
            serializers: {
              req: (req: { method: string; url: string; hostname?: string; ip?: string }) => ({ method: req.method, url: redactUrl(req.url), hostname: req.hostname, remoteAddress: req.ip }),
            },
          },
        }
      : {}),
  });
  if (input.logger) {
    const { slowRequestMs, logEveryRequest } = config.monitoring;
    app.addHook('onResponse', async (request, reply) => {
      const responseTime = Math.round(reply.elapsedTime);
      const fields = { req: request, res: { statusCode: reply.statusCode }, responseTime };
      if (reply.statusCode >= 500) request.log.error(fields, 'request failed');
      else if (responseTime >= slowRequestMs) request.log.warn(fields, 'slow request');
      else if (logEveryRequest) request.log.info(fields, 'request completed');
    });
  }
  app.addSchema(ErrorBody);
  registerErrors(app);
  await registerDocs(app);
  registerAuth(app, new KeyRing(input.keys));
  await registerRateLimit(app, config);

  const deps = createDeps(input);
  // Samples accepted before close are written before the clients close.
  app.addHook('onClose', async () => {
    await deps.writer.flush();
    await deps.parsePool.close();
  });

  await app.register(healthRoutes(deps));
  // Registered on the root instance, not as an encapsulated plugin, so its onResponse hook sees every route.
  await selfMetricsRoutes(deps)(app, {});
  await app.register(metricsRoutes(deps));
  await app.register(traceRoutes(deps));
  await app.register(cloudwatchRoutes(deps));
  await app.register(prometheusRoutes(deps));
  await app.register(alertmanagerRoutes(deps));
  await app.register(eventsRoutes(deps));
  await app.register(serviceRoutes(deps));
  await app.register(alertActionRoutes(deps));
  await app.register(alertHistoryRoutes(deps));
  await app.register(alertTimelineRoutes(deps));
  await app.register(evaluationRoutes(deps));
  await app.register(oncallRoutes(deps));
  await app.register(backtestRoutes(deps));
  await app.register(pagerDutyRoutes(deps));
  await app.register(integrationRoutes(deps));
  await app.register(silenceRoutes(deps));
  await app.register(policyRoutes(deps));
  await app.register(ruleRoutes(deps));
  await app.register(dashboardRoutes(deps));
  await app.register(capacityRoutes(deps));
  await app.register(trendRoutes(deps));
  await app.register(sloRoutes(deps));
  await app.register(businessRoutes(deps));
  await app.register(pageRoutes);
  await app.register(reportRoutes(deps));
  return app;
}
