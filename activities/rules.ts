import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type Redis from 'ioredis';
import { mergeRuleGroups, overlayRules, parseRuleDocument, type RuleGroup } from '../core/rules';
import { createRuleStore } from './rule-store';

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

/** createRuleActivities builds the activity that loads the alert rules: the files, then the admin API's edits. */
export function createRuleActivities({ rulesPath, redis, taskQueue }: { rulesPath: string; redis: Redis; taskQueue: string }) {
  const store = createRuleStore(redis, taskQueue);
  return {
    /** loadRuleGroups reads the rule files and the API's rules afresh, so an edit applies at the next evaluation. */
    async loadRuleGroups(): Promise<RuleGroup[]> {
      return overlayRules(await loadRuleFiles(rulesPath), await store.rules());
    },
  };
}
