/** isRecord says whether a parsed JSON/YAML value is a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * configEntries reads a list of maps from a config file (a job's `*_sd_configs`): absent is none; each entry must be
 * a map of known keys. Faults name the field (`field[i]`, `field[i].key`).
 */
export function configEntries(value: unknown, field: string, keys: ReadonlySet<string>): Array<{ entry: Record<string, unknown>; at: string }> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${field}: expected a list`);
  return value.map((entry: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isRecord(entry)) throw new Error(`${at}: expected a map`);
    for (const key of Object.keys(entry)) if (!keys.has(key)) throw new Error(`${at}.${key}: not supported (supported: ${[...keys].join(', ')})`);
    return { entry, at };
  });
}
