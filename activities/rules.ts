import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { mergeRuleGroups, parseRuleDocument, type RuleGroup } from '../core/rules';

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

/** createRuleActivities builds the activity that loads the alert rules from config/. */
export function createRuleActivities({ rulesPath }: { rulesPath: string }) {
  return {
    /** loadRuleGroups reads the rule files afresh, so an edited file applies at the next evaluation. */
    async loadRuleGroups(): Promise<RuleGroup[]> {
      return loadRuleFiles(rulesPath);
    },
  };
}
