import { overlayRules, type Rule, type RuleGroup } from '../core/rules';
import type { ConfigStoreDeps } from './config-store';
import { createRuleStore } from './rule-store';

/**
 * RuleSource is the API's current rule set for health verdicts and the dashboard: the rule files overlaid with the
 * rules made through the admin API (store/rule-store.ts) — the same set the evaluation uses —, re-read on `refresh()`
 * (the API calls it every 30 s and after each rule edit). A failed read keeps the last good set.
 */
export interface RuleSource {
  current(): readonly Rule[];
  refresh(): Promise<void>;
}

/** createRuleSource starts from the files' rules and `refresh()`es from files and store. */
export function createRuleSource(options: { loadFiles: () => Promise<RuleGroup[]>; store: ConfigStoreDeps; taskQueue: string; initial: readonly Rule[]; onError?: (err: unknown) => void }): RuleSource {
  let rules: readonly Rule[] = options.initial;
  const apiRules = createRuleStore(options.store, options.taskQueue);
  return {
    current: () => rules,
    async refresh() {
      try {
        rules = overlayRules(await options.loadFiles(), await apiRules.rules()).flatMap((g) => g.rules);
      } catch (err) {
        options.onError?.(err);
      }
    },
  };
}
