import { Type } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { currentRuleGroups, loadRuleFiles } from '../../activities/rules';
import { syncRuleSchedules } from '../../store/schedules';
import { fromRoot } from '../../store/paths';
import { createRuleStore } from '../../store/rule-store';
import { ApiError } from '../../core/errors';
import { evaluatedGroups, overlayRules, parseRule, RuleError } from '../../core/rules';
import type { AppDeps } from '../deps';
import { errorResponses, expectedVersion } from '../schemas';

const PATH = '/api/v1/admin/monitoring/alerts/rules';

/**
 * ruleRoutes serves the alert rules' admin API: GET lists the effective rules by group (files, and edits made here,
 * each with its source and version); PUT /{name} stores a rule in the seed's format (`{group, expression, duration,
 * severity, labels?, annotations?, keep_firing_for?, no_data?}`) as a new version — `If-Match: <version>` refuses a
 * concurrent edit —; DELETE /{name} drops it (a file rule of that name applies again). Invalid rules get 400 naming
 * the field and, for an expression, the column. The next evaluation applies an edit; a new group gets its schedule.
 */
/** DEFAULT_API_GROUP is the group of a rule created through the API without one. */
export const DEFAULT_API_GROUP = 'api';

export function ruleRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    const configStore = { clickhouse: deps.clickhouse, redis: deps.redis, database: deps.config.clickhouse.database };
    const store = createRuleStore(configStore, deps.config.temporal.taskQueue);
    /**
     * syncSchedules gives a new group its evaluation schedule and drops an emptied group's. Without Temporal the edit
     * is stored all the same ('pending'): the worker's next start brings the schedules in line.
     */
    const syncSchedules = async (log: FastifyBaseLogger): Promise<'synced' | 'pending'> => {
      if (!deps.temporal) return 'pending';
      try {
        const groups = evaluatedGroups(await currentRuleGroups(fromRoot(deps.config.rulesPath), configStore, deps.config.temporal.taskQueue));
        // A deadline: with Temporal down the edit is stored and answered in seconds ('pending').
        await deps.temporal.withDeadline(Date.now() + 5_000, () => syncRuleSchedules(deps.temporal!, deps.config, groups));
        return 'synced';
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'rule schedules not updated; the worker will on its next start');
        return 'pending';
      }
    };
    const nameParam = Type.Object({ name: Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_:]{0,127}$' }) });
    // A rule as the API shows it: the seed's fields, the parsed condition and where it comes from (more fields pass).
    const RuleSchema = Type.Object(
      { name: Type.String(), expression: Type.String(), severity: Type.String(), source: Type.String(), version: Type.Integer() },
      { additionalProperties: true },
    );
    const StoredSchema = Type.Object({ ...RuleSchema.properties, schedules: Type.String({ description: 'synced, or pending until the worker starts' }) }, { additionalProperties: true });
    const ListSchema = Type.Object({ groups: Type.Array(Type.Object({ name: Type.String(), rules: Type.Array(RuleSchema) })) });

    app.get(PATH, { config: { access: 'admin' }, schema: { response: { 200: ListSchema, ...errorResponses(401, 403) } } }, async () => {
      const stored = await store.all();
      const groups = overlayRules(await loadRuleFiles(fromRoot(deps.config.rulesPath)), await store.rules());
      return {
        groups: groups.map((g) => ({
          name: g.name,
          rules: g.rules.map((r) => {
            const s = stored.get(r.name);
            return { ...r, source: s ? 'api' : 'file', version: s?.version ?? 0, ...(s ? { updatedBy: s.updatedBy, updatedAt: s.updatedAt } : {}) };
          }),
        })),
      };
    });

    /** storeRule validates and stores one rule as its next version (PUT by name, or POST with the name in the body). */
    const storeRule = async (request: FastifyRequest, name: string, body: Record<string, unknown>) => {
      // A rule made without a group joins DEFAULT_API_GROUP.
      const { group = DEFAULT_API_GROUP, ...raw } = body as { group?: string } & Record<string, unknown>;
      if (raw.name !== undefined && raw.name !== name) throw new ApiError(400, 'validation_failed', `the body names ${JSON.stringify(raw.name)?.slice(0, 200)}, the path ${name}`, 'body.name');
      let rule;
      try {
        rule = parseRule({ ...raw, name }, group, 'body');
      } catch (err) {
        if (err instanceof RuleError) throw new ApiError(400, 'validation_failed', err.message, err.field);
        throw err;
      }
      const expected = expectedVersion(request.headers, 'rule');
      const stored = await store.put(name, group, { ...raw, name }, request.apiKey?.name ?? 'unknown', expected);
      if ('conflict' in stored) throw new ApiError(409, 'conflict', `rule ${name} is at version ${stored.conflict}, not ${expected}`, 'If-Match');
      const schedules = await syncSchedules(request.log);
      // Health and the dashboard judge by the new rule from now on (not at the next 30 s reload).
      await deps.ruleSource?.refresh();
      return { ...rule, source: 'api', version: stored.version, updatedBy: stored.updatedBy, updatedAt: stored.updatedAt, schedules };
    };
    const groupField = { group: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: `the rule's group (default ${DEFAULT_API_GROUP})` })) };

    app.put<{ Params: { name: string }; Body: Record<string, unknown> }>(
      `${PATH}/:name`,
      { config: { access: 'admin' }, schema: { params: nameParam, body: Type.Object(groupField, { additionalProperties: true }), response: { 200: StoredSchema, ...errorResponses(400, 401, 403, 409) } } },
      async (request) => storeRule(request, request.params.name, request.body),
    );

    // POST (DESIGN.md's form): the same, naming the rule in the body.
    app.post<{ Body: Record<string, unknown> & { name: string } }>(
      PATH,
      { config: { access: 'admin' }, schema: { body: Type.Object({ ...groupField, name: nameParam.properties.name }, { additionalProperties: true }), response: { 201: StoredSchema, ...errorResponses(400, 401, 403, 409) } } },
      async (request, reply) => reply.code(201).send(await storeRule(request, request.body.name, request.body)),
    );

    app.delete<{ Params: { name: string } }>(`${PATH}/:name`, { config: { access: 'admin' }, schema: { params: nameParam, response: { 204: Type.Null(), ...errorResponses(401, 403, 404) } } }, async (request, reply) => {
      if (!(await store.remove(request.params.name))) throw new ApiError(404, 'not_found', `no rule ${request.params.name} made through the API`, 'name');
      await syncSchedules(request.log);
      await deps.ruleSource?.refresh();
      return reply.code(204).send();
    });
  };
}
