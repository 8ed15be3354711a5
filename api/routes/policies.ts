import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { createPolicyStore } from '../../store/policy-store';
import { EscalationError, parseEscalationPolicy } from '../../core/escalation';
import { ApiError } from '../../core/errors';
import type { AppDeps } from '../deps';
import { errorResponses, expectedVersion } from '../schemas';

const PATH = '/api/v1/admin/monitoring/escalation-policies';

const Target = Type.Object({ channel: Type.String(), to: Type.String() });
const PolicySchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  repeat: Type.Integer(),
  steps: Type.Array(Type.Object({ waitMs: Type.Integer(), targets: Type.Array(Target), oncall: Type.Optional(Type.Array(Type.String({ description: 'on-call schedules whose primary the step pages' }))) })),
  source: Type.String(),
  version: Type.Integer(),
  default: Type.Boolean(),
  updatedBy: Type.Optional(Type.String()),
  updatedAt: Type.Optional(Type.String()),
});

/**
 * policyRoutes serves the escalation policies' admin API: GET lists them (file defaults and API edits, with their
 * version), PUT /{name} stores a new version — in the file's YAML shape, `{description?, repeat?, steps: [{wait,
 * targets: [{slack}|{email}]}]}`, optionally `If-Match: <version>` to refuse a concurrent edit —, DELETE /{name}
 * drops the API edit. Alerts already firing keep the snapshot they took.
 */
export function policyRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    const store = createPolicyStore({ config: deps.config, redis: deps.redis, clickhouse: deps.clickhouse });
    const nameParam = Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' }) });

    app.get(PATH, { config: { access: 'admin' }, schema: { response: { 200: Type.Object({ policies: Type.Array(PolicySchema) }), ...errorResponses(401, 403) } } }, async () => ({
      policies: await store.list(),
    }));

    app.put<{ Params: { name: string }; Body: Record<string, unknown> }>(
      `${PATH}/:name`,
      {
        config: { access: 'admin' },
        schema: { params: nameParam, body: Type.Object({}, { additionalProperties: true }), response: { 200: PolicySchema, ...errorResponses(400, 401, 403, 409) } },
      },
      async (request) => {
        const { name } = request.params;
        if (request.body.name !== undefined && request.body.name !== name) throw new ApiError(400, 'validation_failed', `the body names ${JSON.stringify(request.body.name)?.slice(0, 200)}, the path ${name}`, 'body.name');
        let policy;
        try {
          policy = parseEscalationPolicy({ ...request.body, name }, 'body');
        } catch (err) {
          if (err instanceof EscalationError) throw new ApiError(400, 'validation_failed', err.message, err.field);
          throw err;
        }
        const expected = expectedVersion(request.headers, 'policy');
        const stored = await store.put(policy, request.apiKey?.name ?? 'unknown', expected);
        if ('conflict' in stored) throw new ApiError(409, 'conflict', `policy ${name} is at version ${stored.conflict}, not ${expected}`, 'If-Match');
        return (await store.list()).find((p) => p.name === name);
      },
    );

    app.delete<{ Params: { name: string } }>(
      `${PATH}/:name`,
      { config: { access: 'admin' }, schema: { params: nameParam, response: { 204: Type.Null(), ...errorResponses(401, 403, 404) } } },
      async (request, reply) => {
        if (!(await store.remove(request.params.name))) throw new ApiError(404, 'not_found', `no edit of policy ${request.params.name} through the API`, 'name');
        return reply.code(204).send();
      },
    );
  };
}
