/** parseDuration reads a Prometheus-style duration ("15s", "5m", "1h30m", "250ms", "0") into milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(part)) {
    if (match.index !== consumed) break;
    total += Number(match[1]) * unitMs[match[2] as string]!;
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length) {
    throw new Error(`invalid duration "${text}" (expected e.g. 30s, 5m, 1h)`);
  }
  return Math.round(total);
}

/** formatDuration writes milliseconds the way parseDuration reads them, largest unit first. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units: Array<[string, number]> = [['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let rest = ms;
  let out = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
