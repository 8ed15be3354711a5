import { parseRule, type Rule } from '../core/rules';
import { createConfigStore, type ConfigStoreDeps } from './config-store';


/** StoredRule is a rule as the admin API keeps it: the rule as written (seed keys), its group, version and author. */
export interface StoredRule {
  group: string;
  raw: Record<string, unknown>;
  version: number;
  updatedBy: string;
  updatedAt: string;
}

/**
 * createRuleStore keeps alert rules edited through the admin API, versioned, over the rule files — durably in
 * ClickHouse, cached in Redis (store/config-store.ts): every worker and API process sees the same rules, the next
 * evaluation applies an edit, and a Redis flush loses none.
 */
export function createRuleStore(deps: ConfigStoreDeps, taskQueue: string) {
  // One set per deployment (its task queue), by rule name.
  const store = createConfigStore(deps, 'rule', taskQueue, `rules:api:${taskQueue}`);
  async function all(): Promise<Map<string, StoredRule>> {
    return new Map([...(await store.all())].map(([name, json]) => [name, JSON.parse(json) as StoredRule]));
  }
  return {
    all,
    /** rules parses the stored rules (they were validated when stored). */
    async rules(): Promise<Rule[]> {
      return [...(await all()).entries()].map(([name, s]) => parseRule(s.raw, s.group, `rules:api ${name}`));
    },
    /** put stores a new version; `expectedVersion` refuses a concurrent edit. */
    async put(name: string, group: string, raw: Record<string, unknown>, by: string, expectedVersion?: number): Promise<StoredRule | { conflict: number }> {
      const version = (await all()).get(name)?.version ?? 0;
      if (expectedVersion !== undefined && expectedVersion !== version) return { conflict: version };
      const stored: StoredRule = { group, raw, version: version + 1, updatedBy: by, updatedAt: new Date().toISOString() };
      await store.put(name, JSON.stringify(stored));
      return stored;
    },
    /** remove drops an API rule (a file rule of that name applies again); false if there was none. */
    async remove(name: string): Promise<boolean> {
      return store.remove(name);
    },
  };
}
