import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { mergeRuleGroups, overlayRules, parseRuleDocument, type RuleGroup } from '../core/rules';
import type { ConfigStoreDeps } from '../store/config-store';
import { createRuleStore } from '../store/rule-store';

/** loadRuleFiles reads every .yml/.yaml rule file at a path (a file or a folder) into validated rule groups. */
export async function loadRuleFiles(rulesPath: string): Promise<RuleGroup[]> {
  const info = await stat(rulesPath);
  const files = info.isDirectory()
    ? (await readdir(rulesPath))
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => path.join(rulesPath, f))
    : [rulesPath];
  const documents = await Promise.all(files.map(async (file) => parseRuleDocument(await readFile(file, 'utf8'), path.basename(file))));
  return mergeRuleGroups(documents);
}

/** currentRuleGroups is the effective rule set: the files, then the admin API's edits. */
export async function currentRuleGroups(rulesPath: string, store: ConfigStoreDeps, taskQueue: string): Promise<RuleGroup[]> {
  return overlayRules(await loadRuleFiles(rulesPath), await createRuleStore(store, taskQueue).rules());
}

/** createRuleActivities builds the activity that loads the alert rules: the files, then the admin API's edits. */
export function createRuleActivities({ rulesPath, store, taskQueue }: { rulesPath: string; store: ConfigStoreDeps; taskQueue: string }) {
  return {
    /** loadRuleGroups reads the rule files and the API's rules afresh, so an edit applies at the next evaluation. */
    async loadRuleGroups(): Promise<RuleGroup[]> {
      return currentRuleGroups(rulesPath, store, taskQueue);
    },
  };
}
