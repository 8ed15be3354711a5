import { readFile } from 'node:fs/promises';
import type { Config } from '../core/config';
import { parseEscalationConfig, type EscalationConfig, type EscalationPolicy } from '../core/escalation';
import { createConfigStore, type ConfigStoreDeps } from './config-store';
import { fromRoot } from './paths';

/** StoredPolicy is a policy as the admin API keeps it: the policy, its version and who changed it when. */
export interface StoredPolicy {
  policy: EscalationPolicy;
  version: number;
  updatedBy: string;
  updatedAt: string;
}

/** PolicyView is a policy as listed: where it comes from (the file, or an edit through the API) and its version. */
export interface PolicyView extends EscalationPolicy {
  source: 'file' | 'api';
  version: number;
  default: boolean;
  updatedBy?: string;
  updatedAt?: string;
}

/**
 * createPolicyStore reads escalation policies: config/escalation.yaml holds the defaults, and edits made through the
 * admin API (versioned; durable in ClickHouse, cached in Redis: store/config-store.ts) replace or add policies by
 * name — so every worker and API process sees the same policies. An alert takes its snapshot when it fires.
 */
export function createPolicyStore({ config, ...deps }: Omit<ConfigStoreDeps, 'database'> & { config: Config }) {
  const taskQueue = config.temporal.taskQueue;
  const store = createConfigStore({ ...deps, database: config.clickhouse.database }, 'policy', taskQueue, `escalation:policies:${taskQueue}`);
  async function fromFile(): Promise<EscalationConfig> {
    return parseEscalationConfig(await readFile(fromRoot(config.escalationPath), 'utf8'), config.escalationPath);
  }
  async function edits(): Promise<Map<string, StoredPolicy>> {
    return new Map([...(await store.all())].map(([name, json]) => [name, JSON.parse(json) as StoredPolicy]));
  }
  return {
    /** escalation returns the effective policies (file, then API edits) and the default policy's name. */
    async escalation(): Promise<EscalationConfig> {
      const file = await fromFile();
      const edited = await edits();
      const policies = file.policies.map((p) => edited.get(p.name)?.policy ?? p);
      for (const [name, stored] of edited) if (!file.policies.some((p) => p.name === name)) policies.push(stored.policy);
      return { defaultPolicy: file.defaultPolicy, policies };
    },

    /** list returns every policy with its source and version. */
    async list(): Promise<PolicyView[]> {
      const file = await fromFile();
      const edited = await edits();
      const views: PolicyView[] = file.policies.map((p) => {
        const e = edited.get(p.name);
        return e
          ? { ...e.policy, source: 'api', version: e.version, default: p.name === file.defaultPolicy, updatedBy: e.updatedBy, updatedAt: e.updatedAt }
          : { ...p, source: 'file', version: 0, default: p.name === file.defaultPolicy };
      });
      for (const [name, e] of edited) {
        if (!file.policies.some((p) => p.name === name)) views.push({ ...e.policy, source: 'api', version: e.version, default: false, updatedBy: e.updatedBy, updatedAt: e.updatedAt });
      }
      return views;
    },

    /** put stores a new version of a policy; `expectedVersion` (optimistic locking) refuses a stale edit. */
    async put(policy: EscalationPolicy, by: string, expectedVersion?: number): Promise<StoredPolicy | { conflict: number }> {
      const current = (await edits()).get(policy.name);
      const version = current?.version ?? 0;
      if (expectedVersion !== undefined && expectedVersion !== version) return { conflict: version };
      const stored: StoredPolicy = { policy, version: version + 1, updatedBy: by, updatedAt: new Date().toISOString() };
      await store.put(policy.name, JSON.stringify(stored));
      return stored;
    },

    /** remove drops the API edit of a policy (a file policy reverts to the file's); false if there was none. */
    async remove(name: string): Promise<boolean> {
      return store.remove(name);
    },
  };
}
