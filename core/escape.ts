/**
 * The one place values and names meet SQL. Values never enter SQL text: they travel as ClickHouse query parameters
 * (`{p0:String}` in the text, the value in `query_params`), collected by QueryParams. Identifiers cannot be
 * parameters, so sqlIdentifier admits only names the schema could hold. The TabSeparated helpers write rows of
 * data (inserts), not SQL. A property test round-trips arbitrary strings through a real server
 * (test/integration/escape.test.ts).
 */

/** SQL_NAME is what a database, table or column name of ours may be. */
const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** sqlIdentifier quotes a database, table or column name with backquotes after checking that it is a plain name. */
export function sqlIdentifier(name: string): string {
  if (!SQL_NAME.test(name)) throw new Error(`not a valid SQL identifier: ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

/**
 * QueryParams collects the values of one query and hands back their placeholders. Each method returns the text to
 * put in the SQL; `values` goes to `query_params`.
 */
/** finite returns a finite number, and refuses NaN and the infinities. */
function finite(value: number): number {
  if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  return value;
}

/** safeInteger returns a whole, safe number, and refuses any other. */
function safeInteger(value: number): number {
  if (!Number.isSafeInteger(value)) throw new Error(`not a safe integer: ${value}`);
  return value;
}

export class QueryParams {
  readonly values: Record<string, unknown> = {};
  // A value bound twice (a metric a group's rules share) gets one placeholder: long rule groups send less.
  private readonly bound = new Map<string, string>();

  /** add binds a value of a ClickHouse type and returns its placeholder. */
  add(value: unknown, type: string): string {
    const key = `${type}\u0000${JSON.stringify(value)}`;
    let placeholder = this.bound.get(key);
    if (placeholder === undefined) {
      const name = `p${this.bound.size}`;
      this.values[name] = value;
      placeholder = `{${name}:${type}}`;
      this.bound.set(key, placeholder);
    }
    return placeholder;
  }

  /** string binds a String. */
  string(value: string): string {
    return this.add(value, 'String');
  }

  /** float binds a finite Float64; NaN and the infinities are refused, not silently written. */
  float(value: number): string {
    return this.add(finite(value), 'Float64');
  }

  /** int binds an Int64 (a whole, safe number). */
  int(value: number): string {
    return this.add(safeInteger(value), 'Int64');
  }

  /** ints binds an Array(Int64) of whole, safe numbers. */
  ints(values: readonly number[]): string {
    return this.add(values.map(safeInteger), 'Array(Int64)');
  }

  /** floats binds an Array(Float64) of finite numbers. */
  floats(values: readonly number[]): string {
    return this.add(values.map(finite), 'Array(Float64)');
  }

  /** strings binds an Array(String). */
  strings(values: readonly string[]): string {
    return this.add([...values], 'Array(String)');
  }

  /** timeMs binds an instant in epoch milliseconds as a DateTime64(3, 'UTC') expression. */
  timeMs(ms: number): string {
    return `fromUnixTimestamp64Milli(${this.int(Math.round(ms))}, 'UTC')`;
  }
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

const QUOTED_ESCAPES: Record<string, string> = { ...TSV_ESCAPES, "'": "\\'" };

/** tsvQuoted writes a string as the quoted element of a composite TabSeparated field (an array or a map). */
function tsvQuoted(value: string): string {
  return `'${value.replace(/[\\'\t\n\r\0\b\f]/g, (ch) => QUOTED_ESCAPES[ch]!)}'`;
}

/** tsvStringMap writes a Map(String, String) field of a TabSeparated row, keys sorted. */
export function tsvStringMap(map: Readonly<Record<string, string>>): string {
  const keys = Object.keys(map);
  if (keys.length === 0) return '{}';
  if (keys.length > 1) keys.sort();
  return `{${keys.map((k) => `${tsvQuoted(k)}:${tsvQuoted(map[k]!)}`).join(',')}}`;
}

/** tsvNumber writes a Float64 field of a TabSeparated row, with ClickHouse's spelling of the infinities. */
export function tsvNumber(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (value === Number.POSITIVE_INFINITY) return 'inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  return 'nan';
}

/** dateTime64Text writes epoch milliseconds as DateTime64(3) input text (seconds with a fraction), for TabSeparated and JSON rows. */
export function dateTime64Text(ms: number): string {
  const whole = Math.floor(ms / 1000);
  return `${whole}.${String(ms - whole * 1000).padStart(3, '0')}`;
}

/** BoundQuery is SQL text with its parameters, as `@clickhouse/client`'s query() and command() take them. */
export interface BoundQuery {
  query: string;
  query_params: Record<string, unknown>;
}

/**
 * sql is a tagged template that binds every interpolated value as a query parameter: strings as String, whole
 * numbers as Int64, other numbers as Float64, string arrays as Array(String).
 */
export function sql(strings: TemplateStringsArray, ...values: Array<string | number | readonly string[]>): BoundQuery {
  const params = new QueryParams();
  let query = strings[0]!;
  values.forEach((value, i) => {
    const placeholder =
      typeof value === 'string' ? params.string(value) : typeof value === 'number' ? (Number.isSafeInteger(value) ? params.int(value) : params.float(value)) : params.strings(value);
    query += placeholder + strings[i + 1]!;
  });
  return { query, query_params: params.values };
}
