/**
 * The one place SQL literals and identifiers are written. ClickHouse 18.16 has no server-side query
 * parameters, so every value that reaches SQL text goes through these functions; a property test
 * round-trips arbitrary strings through a real server (test/integration/escape.test.ts).
 */

const STRING_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  '\r': '\\r',
  '\n': '\\n',
  '\t': '\\t',
};

/** sqlString quotes a string as a ClickHouse string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/[\\'\0\b\f\r\n\t]/g, (ch) => STRING_ESCAPES[ch]!)}'`;
}

/** sqlIdentifier quotes a table, column or database name with backquotes. */
export function sqlIdentifier(name: string): string {
  if (name.length === 0) throw new Error('empty SQL identifier');
  return `\`${name.replace(/[\\`\0\b\f\r\n\t]/g, (ch) => (ch === '`' ? '\\`' : STRING_ESCAPES[ch]!))}\``;
}

/** sqlNumber writes a finite number as a Float64 literal; NaN and Infinity are refused, not silently written. */
export function sqlNumber(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  return Number.isInteger(value) && Math.abs(value) < 2 ** 53 ? String(value) : value.toExponential();
}

/** sqlStringArray writes a ClickHouse Array(String) literal. */
export function sqlStringArray(values: readonly string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}

const TSV_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};

/** tsvString writes a String field of a TabSeparated row. */
export function tsvString(value: string): string {
  return value.replace(/[\\\t\n\r\0\b\f]/g, (ch) => TSV_ESCAPES[ch]!);
}

/** tsvStringArray writes an Array(String) field of a TabSeparated row: a quoted array literal. */
export function tsvStringArray(values: readonly string[]): string {
  return `[${values.map(sqlString).join(',')}]`;
}

/** tsvNumber writes a Float64 field of a TabSeparated row, with ClickHouse's spelling of the infinities. */
export function tsvNumber(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (value === Number.POSITIVE_INFINITY) return 'inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  return 'nan';
}
