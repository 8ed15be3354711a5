import type { Labels } from './types';

/**
 * Parser of the two text expositions, each as its specification says — the Prometheus text format 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats) and OpenMetrics 1.0 (its ABNF and data model) — so that a
 * body either is one, and every sample is kept, or is not, and is refused as a whole with each line at fault named
 * ("Partial or invalid expositions MUST be considered erroneous in their entirety", as Prometheus fails a scrape).
 *
 * Both: metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*` (unique in a sample; `__…`
 * is Prometheus' own), values with +Inf/-Inf/NaN, empty label values read as absent, UTF-8 without BOM, lines ended
 * by \n alone, one TYPE/HELP per family and before its samples, a family's lines in one group, no sample twice,
 * histogram buckets (`le`) in increasing order ending in +Inf, whose count is `_count`'s.
 * 0.0.4 only: blanks and tabs between tokens, trailing comma in labels, escapes \\ \" \n only, millisecond
 * integer timestamps, comments, `untyped`; quantiles in increasing order.
 * OpenMetrics only: single spaces, `# EOF` last and nothing after it, no other `#` lines, no empty lines, seconds
 * timestamps, exemplars (`# {…} value [ts]`, only on counters' _total and buckets, ≤ 128 characters of labels, within
 * their bucket), UNIT (a suffix of the name; none for info and stateset), the types' sample names (_total, _created,
 * _bucket, _gcount, _gsum, _info, …) and values (counters and counts never negative or NaN, counts and buckets whole,
 * buckets cumulative, _sum present iff _count, info 1, stateset 0/1, quantiles in [0, 1]), families, metrics and
 * points not interleaved, a metric's points in increasing time, no name clashing with another family's samples.
 * One pass over the text, no regex per sample line (the ingest hot path).
 */

/** ExpositionFormat names the two text formats. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** PromSample is one parsed sample line. */
export interface PromSample {
  name: string;
  labels: Labels;
  value: number;
  /** Milliseconds since the epoch, when the line carried a timestamp. */
  timestampMs?: number;
}

/** PromParseResult is every sample, each family's declared type, and the exposition's faults (none: valid). */
export interface PromParseResult {
  format: ExpositionFormat;
  samples: PromSample[];
  types: Record<string, string>;
  /** Each fault with its line; any fault makes the exposition invalid as a whole (the samples are then not to be stored). */
  errors: Array<{ line: number; error: string }>;
}

class LineError extends Error {}

/** At most this many faults are reported; the body is refused at the first anyway. */
const MAX_ERRORS = 20;
const EXEMPLAR_MAX_RUNES = 128;

const isNameStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 57);
const isLabelStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isLabelChar = (c: number) => isLabelStart(c) || (c >= 48 && c <= 57);
const isBlank = (c: number) => c === 32 || c === 9;

const REAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INF = /^[+-]?inf(?:inity)?$/i;
const NAN = /^nan$/i;
const INTEGER = /^[+-]?\d+$/;

/** parseNumber reads a value: a decimal real, ±Inf/Infinity or NaN, case-insensitive (both formats' grammars). */
function parseNumber(text: string, what: string): number {
  if (REAL.test(text)) return Number(text);
  if (INF.test(text)) return text.charCodeAt(0) === 45 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (NAN.test(text)) return Number.NaN;
  throw new LineError(`invalid ${what} "${text}"`);
}

/** parseTimestamp reads a sample's time: integer milliseconds (0.0.4) or real seconds (OpenMetrics). */
function parseTimestamp(text: string, om: boolean, what = 'timestamp'): number {
  if (om) {
    if (!REAL.test(text)) throw new LineError(`invalid ${what} "${text}" (seconds, a finite number)`);
    const seconds = Number(text);
    if (!Number.isFinite(seconds)) throw new LineError(`${what} "${text}" out of range`);
    return Math.round(seconds * 1000);
  }
  if (!INTEGER.test(text)) throw new LineError(`invalid ${what} "${text}" (integer milliseconds)`);
  const ms = Number(text);
  if (Math.abs(ms) > 9.223372036854776e18) throw new LineError(`${what} "${text}" out of int64 range`);
  return ms;
}

/** One sample line as read, before the checks that need its family. */
interface Line {
  name: string;
  labels: Labels;
  value: number;
  timestampMs?: number;
  exemplar?: { labels: Labels; value: number; runes: number };
}

/** Reader reads the tokens of one line; `om` selects OpenMetrics' stricter grammar. */
class Reader {
  pos = 0;
  constructor(
    readonly line: string,
    readonly om: boolean,
  ) {}

  blanks(): number {
    const start = this.pos;
    if (!this.om) while (isBlank(this.line.charCodeAt(this.pos))) this.pos++;
    return this.pos - start;
  }

  name(): string {
    const { line } = this;
    const start = this.pos;
    if (!isNameStart(line.charCodeAt(start))) throw new LineError(`expected a metric name at column ${start + 1}`);
    while (this.pos < line.length && isNameChar(line.charCodeAt(this.pos))) this.pos++;
    return line.slice(start, this.pos);
  }

  /**
   * escaped reads up to the closing quote (label values) or the line's end (HELP): \\, \", \n; OpenMetrics also \x.
   * A bare " in HELP text is taken, as Prometheus' own parser and the client libraries (prom-client) have it.
   */
  escaped(quoted: boolean, what: string): string {
    const { line } = this;
    let out = '';
    let chunk = this.pos;
    for (;;) {
      if (this.pos >= line.length) {
        if (quoted) throw new LineError(`unterminated ${what}`);
        break;
      }
      const c = line.charCodeAt(this.pos);
      if (quoted && c === 34) break;
      if (c === 92) {
        out += line.slice(chunk, this.pos);
        const next = line.charCodeAt(this.pos + 1);
        if (next === 110) out += '\n';
        else if (next === 92 || next === 34) out += line[this.pos + 1];
        else if (this.om && this.pos + 1 < line.length) out += `\\${line[this.pos + 1]}`;
        else throw new LineError(`invalid escape in ${what} at column ${this.pos + 1} (only \\\\, \\" and \\n)`);
        this.pos += 2;
        chunk = this.pos;
      } else {
        this.pos++;
      }
    }
    return out + line.slice(chunk, this.pos);
  }

  /** labels reads `{name="value",…}`; empty values are dropped (read as absent); `runes` counts names and values. */
  labels(countRunes = false): { labels: Labels; runes: number } {
    const { line, om } = this;
    const labels: Labels = {};
    // Names with an empty value (read as absent) still count for duplicates; rare, so no set unless one occurs.
    let empty: string[] | undefined;
    let runes = 0;
    this.pos++; // {
    for (let afterComma = false; ; afterComma = true) {
      this.blanks();
      if (line.charCodeAt(this.pos) === 125) {
        if (om && afterComma) throw new LineError(`expected a label name at column ${this.pos + 1} (no comma before })`);
        this.pos++;
        return { labels, runes };
      }
      const start = this.pos;
      if (!isLabelStart(line.charCodeAt(start))) throw new LineError(`expected a label name at column ${start + 1}`);
      while (this.pos < line.length && isLabelChar(line.charCodeAt(this.pos))) this.pos++;
      const name = line.slice(start, this.pos);
      if (name.startsWith('__')) throw new LineError(`label name ${name}: names beginning with __ are reserved`);
      this.blanks();
      if (line.charCodeAt(this.pos) !== 61) throw new LineError(`expected = after label ${name}`);
      this.pos++;
      this.blanks();
      if (line.charCodeAt(this.pos) !== 34) throw new LineError(`expected a quoted value for label ${name}`);
      this.pos++;
      const value = this.escaped(true, `value of label ${name}`);
      this.pos++;
      if (name in labels || empty?.includes(name)) throw new LineError(`duplicate label ${name}`);
      if (countRunes) runes += [...name].length + [...value].length;
      if (value !== '') labels[name] = value;
      else (empty ??= []).push(name);
      this.blanks();
      const c = line.charCodeAt(this.pos);
      if (c === 125) {
        this.pos++;
        return { labels, runes };
      }
      if (c !== 44) throw new LineError(`expected , or } after label ${name}`);
      this.pos++;
    }
  }

  /** token reads up to the next separator (a space in OpenMetrics; blanks in 0.0.4). */
  token(): string {
    const start = this.pos;
    while (this.pos < this.line.length && !(this.om ? this.line.charCodeAt(this.pos) === 32 : isBlank(this.line.charCodeAt(this.pos)))) this.pos++;
    return this.line.slice(start, this.pos);
  }

  /** separator consumes the space(s) between tokens; false at the end of the line. */
  separator(): boolean {
    if (this.pos >= this.line.length) return false;
    const c = this.line.charCodeAt(this.pos);
    if (this.om) {
      if (c !== 32) throw new LineError(`expected a space at column ${this.pos + 1}`);
      this.pos++;
      if (this.pos >= this.line.length) throw new LineError('trailing space');
      if (this.line.charCodeAt(this.pos) === 32) throw new LineError(`one space between tokens (column ${this.pos + 1})`);
      return true;
    }
    if (!isBlank(c)) throw new LineError(`unexpected "${this.line[this.pos]}" at column ${this.pos + 1}`);
    this.blanks();
    return this.pos < this.line.length;
  }

  sample(): Line {
    const { line, om } = this;
    this.blanks();
    const name = this.name();
    let labels: Labels = {};
    const afterName = this.pos;
    this.blanks(); // 0.0.4 only: blanks may precede the labels
    if (line.charCodeAt(this.pos) === 123) labels = this.labels().labels;
    else this.pos = afterName; // separator() reads the blanks before the value
    if (!this.separator()) throw new LineError('expected a value');
    const value = parseNumber(this.token(), 'value');
    const sample: Line = { name, labels, value };
    if (!this.separator()) return sample;
    if (line.charCodeAt(this.pos) !== 35) {
      sample.timestampMs = parseTimestamp(this.token(), om);
      if (!this.separator()) return sample;
    }
    if (!om || line.charCodeAt(this.pos) !== 35) throw new LineError(`unexpected "${line.slice(this.pos)}" after the ${sample.timestampMs === undefined ? 'value' : 'timestamp'}`);
    // Exemplar: " # {labels} value [timestamp]".
    this.pos++;
    if (!this.separator() || line.charCodeAt(this.pos) !== 123) throw new LineError('exemplar: expected " # {labels} value"');
    const { labels: exemplarLabels, runes } = this.labels(true);
    if (!this.separator()) throw new LineError('exemplar: expected a value');
    const exemplarValue = parseNumber(this.token(), 'exemplar value');
    if (this.separator()) {
      parseTimestamp(this.token(), true, 'exemplar timestamp');
      if (this.pos < line.length) throw new LineError(`unexpected "${line.slice(this.pos)}" after the exemplar`);
    }
    sample.exemplar = { labels: exemplarLabels, value: exemplarValue, runes };
    return sample;
  }
}

/** The sample-name suffixes of each type (OpenMetrics' table; 0.0.4's histogram and summary as that format has them). */
const SUFFIXES: Record<ExpositionFormat, Record<string, readonly string[]>> = {
  openmetrics: {
    counter: ['_total', '_created'],
    gauge: [''],
    stateset: [''],
    unknown: [''],
    info: ['_info'],
    summary: ['', '_count', '_sum', '_created'],
    histogram: ['_bucket', '_count', '_sum', '_created'],
    gaugehistogram: ['_bucket', '_gcount', '_gsum'],
  },
  prometheus: { counter: [''], gauge: [''], untyped: [''], summary: ['', '_count', '_sum'], histogram: ['_bucket', '_count', '_sum'] },
};

/** A MetricPoint of a histogram or summary being read: one metric's samples at one time. */
interface Point {
  line: number;
  buckets: Array<{ le: number; text: string; value: number; line: number }>;
  quantiles: Array<{ q: number; line: number }>;
  count?: number;
  sum?: number;
}

interface Family {
  name: string;
  type: string;
  line: number;
  /** A TYPE line was read (an explicit unknown/untyped too). */
  typed?: boolean;
  help: boolean;
  unit?: string;
  samples: number;
  /** The metrics (label sets without le/quantile/state) read (OpenMetrics), and every sample (name, labels, time) read. */
  metrics: Set<string>;
  seen: Set<string>;
  /** Histograms and summaries: each point (metric and time), whose structure is checked at the family's end. */
  points?: Map<string, Point>;
  lastMetric?: string;
  lastTimestamp?: number;
  timestamped?: boolean;
}

const labelKey = (labels: Labels, without?: string) => {
  let key = '';
  for (const k of Object.keys(labels).sort()) if (k !== without) key += `${k}\u0000${labels[k]}\u0001`;
  return key;
};

const describe = (labels: Labels) => `{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;

/** Parser holds the state of one exposition's pass. */
class Parser {
  readonly result: PromParseResult;
  private current: Family | undefined;
  /** The family closed by the last open(), to explain a sample name it does not have. */
  private closing: Family | undefined;
  private readonly closed = new Map<string, number>();
  /** OpenMetrics: every sample name a closed family may produce → that family (names must not clash). */
  private readonly produced = new Map<string, string>();
  /** 0.0.4: TYPE declared per family name, for the samples of histograms and summaries. */
  private readonly declared = new Map<string, string>();
  private readonly suffixes: Record<string, readonly string[]>;

  constructor(readonly om: boolean) {
    this.result = { format: om ? 'openmetrics' : 'prometheus', samples: [], types: {}, errors: [] };
    this.suffixes = SUFFIXES[this.result.format];
  }

  fault(line: number, error: string): void {
    if (this.result.errors.length < MAX_ERRORS) this.result.errors.push({ line, error });
  }

  /** open starts family `name` (its lines must not have been seen before: families are not interleaved). */
  private open(name: string, type: string, line: number): Family {
    this.closing = this.current;
    this.close();
    const before = this.closed.get(name);
    if (before !== undefined && this.closing?.name === name) {
      throw new LineError(`${name} is not a sample name of ${this.closing.type} ${name} (its samples: ${this.suffixes[this.closing.type]!.map((s) => name + s).join(', ')})`);
    }
    if (before !== undefined) throw new LineError(`metric family ${name} was already exposed at line ${before}: a family's lines come in one group`);
    const owner = this.om ? this.produced.get(name) : undefined;
    if (owner !== undefined && owner !== name) throw new LineError(`metric family ${name} clashes with a sample name of family ${owner}`);
    this.current = { name, type, line, help: false, samples: 0, metrics: new Set(), seen: new Set() };
    return this.current;
  }

  /** close ends the current family: its points' structure, its unit, and (OpenMetrics) the names it may produce. */
  close(): void {
    const family = this.current;
    if (!family) return;
    this.current = undefined;
    this.closed.set(family.name, family.line);
    if (family.type !== (this.om ? 'unknown' : 'untyped')) this.result.types[family.name] = family.type;
    if (this.om) {
      if (family.unit && !family.name.endsWith(`_${family.unit}`)) this.fault(family.line, `UNIT ${family.unit} of ${family.name}: the family's name must end in _${family.unit}`);
      if (family.unit && (family.type === 'info' || family.type === 'stateset')) this.fault(family.line, `${family.name}: a ${family.type} has no unit`);
      // A family's name and every sample name its type may produce are its own (the reference parser's reading).
      for (const suffix of new Set(['', ...this.suffixes[family.type]!])) {
        const name = family.name + suffix;
        const owner = this.produced.get(name);
        if (owner !== undefined && owner !== family.name) this.fault(family.line, `metric family ${family.name} (${family.type}) may expose ${name}, which family ${owner} exposes`);
        else this.produced.set(name, family.name);
      }
    }
    for (const point of family.points?.values() ?? []) this.checkPoint(family, point);
  }

  private checkPoint(family: Family, point: Point): void {
    const { om } = this;
    if (family.type === 'histogram' || family.type === 'gaugehistogram') {
      const { buckets } = point;
      const last = buckets.at(-1);
      if (!last) return this.fault(point.line, `${family.name}: a histogram point without buckets (no ${family.name}_bucket{le="+Inf"})`);
      if (last.le !== Infinity) return this.fault(last.line, `${family.name}: the last bucket must be le="+Inf"`);
      if (om) {
        for (let i = 1; i < buckets.length; i++) {
          if (buckets[i]!.value < buckets[i - 1]!.value) this.fault(buckets[i]!.line, `${family.name}: buckets must be cumulative (le="${buckets[i]!.text}" counts less than le="${buckets[i - 1]!.text}")`);
        }
        const sumName = family.type === 'histogram' ? '_sum' : '_gsum';
        const countName = family.type === 'histogram' ? '_count' : '_gcount';
        if ((point.sum === undefined) !== (point.count === undefined)) this.fault(point.line, `${family.name}: ${sumName} and ${countName} come together or not at all`);
        if (family.type === 'histogram' && point.sum !== undefined && buckets[0]!.le < 0) this.fault(point.line, `${family.name}: a histogram with negative buckets has no _sum`);
        if (family.type === 'gaugehistogram' && point.sum !== undefined && point.sum < 0 && buckets[0]!.le >= 0) this.fault(point.line, `${family.name}_gsum is negative without negative buckets`);
      }
      if (point.count !== undefined && point.count !== last.value) this.fault(last.line, `${family.name}: the +Inf bucket (${last.value}) must equal ${family.name}_${family.type === 'histogram' ? 'count' : 'gcount'} (${point.count})`);
    }
  }

  /** metadata handles a # line. */
  comment(text: string, lineNo: number): void {
    const { om } = this;
    let kind: string;
    let name: string;
    let rest: string;
    if (om) {
      const match = /^# (TYPE|HELP|UNIT) /.exec(text);
      if (!match) throw new LineError('only # TYPE, # UNIT, # HELP and a final # EOF may begin with #');
      kind = match[1]!;
      const reader = new Reader(text, true);
      reader.pos = match[0].length;
      name = reader.name();
      if (text.charCodeAt(reader.pos) !== 32) throw new LineError(`# ${kind} ${name}: expected a space after the name`);
      rest = text.slice(reader.pos + 1);
      if (kind === 'HELP') {
        const help = new Reader(rest, true);
        help.escaped(false, 'HELP text');
      } else if (kind === 'UNIT') {
        for (let i = 0; i < rest.length; i++) if (!isNameChar(rest.charCodeAt(i))) throw new LineError(`# UNIT ${name}: invalid unit "${rest}"`);
      } else if (!(rest in this.suffixes)) {
        throw new LineError(`# TYPE ${name}: unknown type "${rest}" (${Object.keys(this.suffixes).join(', ')})`);
      }
    } else {
      const reader = new Reader(text, false);
      reader.pos = 1;
      reader.blanks();
      kind = reader.token();
      if (kind !== 'TYPE' && kind !== 'HELP') return; // an ordinary comment
      if (!reader.separator()) throw new LineError(`# ${kind}: expected a metric name`);
      name = reader.name();
      const more = reader.separator();
      if (kind === 'TYPE') {
        rest = more ? reader.token() : '';
        if (!(rest in this.suffixes)) throw new LineError(`# TYPE ${name}: unknown type "${rest}" (${Object.keys(this.suffixes).join(', ')})`);
        if (reader.separator()) throw new LineError(`# TYPE ${name}: one type only`);
      } else {
        if (more) new Reader(text.slice(reader.pos), false).escaped(false, 'HELP text');
        rest = '';
      }
    }
    let family = this.current?.name === name ? this.current : undefined;
    if (family && family.samples > 0) throw new LineError(`# ${kind} ${name} after samples of ${name}: metadata comes first`);
    if (!om && !family && kind === 'TYPE') {
      // 0.0.4: a TYPE after samples its family would own (read as untyped families of their own) comes too late.
      const seen = (sample: string) => this.closed.has(sample) || (this.current?.name === sample && this.current.samples > 0);
      const late = this.suffixes[rest]!.map((suffix) => name + suffix).find(seen);
      if (late) throw new LineError(`# TYPE ${name} after samples of ${late}: the TYPE comes before them`);
    }
    family ??= this.open(name, om ? 'unknown' : 'untyped', lineNo);
    if (kind === 'TYPE') {
      if (family.typed) throw new LineError(`second # TYPE for ${name}`);
      family.type = rest;
      family.typed = true;
      if (!om) this.declared.set(name, rest);
    } else if (kind === 'HELP') {
      if (family.help) throw new LineError(`second # HELP for ${name}`);
      family.help = true;
    } else {
      if (family.unit !== undefined) throw new LineError(`second # UNIT for ${name}`);
      family.unit = rest;
    }
  }

  /** familyOf finds the family a sample name belongs to (the current one, else a new one) and its suffix. */
  private familyOf(name: string, lineNo: number): { family: Family; suffix: string } {
    const current = this.current;
    if (current && name.startsWith(current.name)) {
      const suffix = name.slice(current.name.length);
      if (this.suffixes[current.type]!.includes(suffix)) return { family: current, suffix };
    }
    if (!this.om) {
      for (const suffix of ['_bucket', '_count', '_sum']) {
        if (!name.endsWith(suffix)) continue;
        const base = name.slice(0, -suffix.length);
        const type = this.declared.get(base);
        if (type && this.suffixes[type]!.includes(suffix)) return { family: this.open(base, type, lineNo), suffix };
      }
      const type = this.declared.get(name);
      return { family: this.open(name, type ?? 'untyped', lineNo), suffix: '' };
    }
    return { family: this.open(name, 'unknown', lineNo), suffix: '' };
  }

  sample(line: Line, lineNo: number): void {
    const { om } = this;
    const { family, suffix } = this.familyOf(line.name, lineNo);
    const { type } = family;
    const { labels, value } = line;
    const bucket = suffix === '_bucket';
    const quantile = (type === 'summary' && suffix === '');
    const partLabel = bucket ? 'le' : quantile ? 'quantile' : type === 'stateset' ? family.name : undefined;
    let bound = Number.NaN;
    if (partLabel) {
      const text = labels[partLabel];
      if (text === undefined) throw new LineError(`${line.name}: a ${type}${suffix ? ` ${suffix}` : ''} sample needs the label ${partLabel}`);
      if (partLabel !== family.name) {
        bound = (() => {
          try {
            return parseNumber(text, `${partLabel} label`);
          } catch (err) {
            throw new LineError(`${line.name}: ${(err as Error).message}`);
          }
        })();
        if (Number.isNaN(bound)) throw new LineError(`${line.name}: ${partLabel}="NaN"`);
        // OpenMetrics: any rendering of a finite bound is taken, but positive infinity is written +Inf.
        if (om && bound === Infinity && text !== '+Inf') throw new LineError(`${line.name}: ${partLabel}="${text}" (infinity is written +Inf)`);
        if (quantile && (bound < 0 || bound > 1)) throw new LineError(`${line.name}: quantile ${text} is not within [0, 1]`);
      }
    } else if ((type === 'histogram' || type === 'gaugehistogram') && 'le' in labels) {
      throw new LineError(`${line.name}: only _bucket samples carry le`);
    } else if (type === 'summary' && 'quantile' in labels) {
      throw new LineError(`${line.name}: only the quantile samples of ${family.name} carry quantile`);
    }
    if (om) this.checkValue(family, suffix, line);
    family.samples++;
    // Metrics (label sets without le/quantile/state) and their points must not interleave (OpenMetrics).
    const metricKey = labelKey(labels, partLabel);
    if (family.lastMetric !== metricKey) {
      if (om) {
        if (family.metrics.has(metricKey)) throw new LineError(`${line.name}${describe(labels)}: the samples of one metric come together (it was interrupted by another)`);
        family.metrics.add(metricKey);
      }
      family.lastMetric = metricKey;
      family.lastTimestamp = undefined;
      family.timestamped = undefined;
    }
    const ts = line.timestampMs;
    if (om) {
      if (family.timestamped !== undefined && family.timestamped !== (ts !== undefined)) throw new LineError(`${line.name}: a metric's samples all have a timestamp or none has`);
      family.timestamped = ts !== undefined;
      if (ts !== undefined && family.lastTimestamp !== undefined && ts < family.lastTimestamp) throw new LineError(`${line.name}: a metric's points come in increasing time (${ts / 1000} after ${family.lastTimestamp / 1000})`);
      if (ts !== undefined) family.lastTimestamp = ts;
    }
    const time = ts === undefined ? '' : String(ts);
    const sampleKey = `${line.name}\u0002${partLabel ? labelKey(labels) : metricKey}\u0003${time}`;
    if (family.seen.has(sampleKey)) throw new LineError(`${line.name}${describe(labels)}: the same sample twice${ts === undefined ? '' : ' at one time'}`);
    family.seen.add(sampleKey);
    if (type !== 'histogram' && type !== 'gaugehistogram' && type !== 'summary') return this.keep(line, ts);
    const pointKey = `${metricKey}\u0003${time}`;
    const points = (family.points ??= new Map());
    let point = points.get(pointKey);
    if (!point) points.set(pointKey, (point = { line: lineNo, buckets: [], quantiles: [] }));
    if (bucket) {
      const previous = point.buckets.at(-1);
      if (previous && bound <= previous.le) throw new LineError(`${line.name}: le="${labels.le}" after le="${previous.text}" (buckets in increasing order)`);
      point.buckets.push({ le: bound, text: labels.le!, value, line: lineNo });
      if (line.exemplar && line.exemplar.value > bound) throw new LineError(`${line.name}: exemplar value ${line.exemplar.value} is not within the bucket le=${labels.le}`);
    } else if (quantile) {
      const previous = point.quantiles.at(-1);
      if (!om && previous && bound <= previous.q) throw new LineError(`${line.name}: quantile=${labels.quantile} after quantile=${previous.q} (quantiles in increasing order)`);
      point.quantiles.push({ q: bound, line: lineNo });
    } else if (suffix === '_count' || suffix === '_gcount') {
      point.count = value;
    } else if (suffix === '_sum' || suffix === '_gsum') {
      point.sum = value;
    }
    this.keep(line, ts);
  }

  private keep(line: Line, ts: number | undefined): void {
    const sample: PromSample = { name: line.name, labels: line.labels, value: line.value };
    if (ts !== undefined) sample.timestampMs = ts;
    this.result.samples.push(sample);
  }

  /** checkValue applies OpenMetrics' rules on values and exemplars by type and sample name. */
  private checkValue(family: Family, suffix: string, line: Line): void {
    const { type } = family;
    const { value, name } = line;
    const counterLike = (type === 'counter' && suffix === '_total') || suffix === '_bucket' || ((type === 'histogram' || type === 'summary') && (suffix === '_count' || suffix === '_sum')) || suffix === '_gcount';
    if (counterLike && (Number.isNaN(value) || value < 0)) throw new LineError(`${name}: ${Number.isNaN(value) ? 'NaN' : 'a negative value'} (${type === 'counter' ? 'counter totals' : 'counts, sums and buckets'} are never negative or NaN)`);
    if ((suffix === '_bucket' || suffix === '_count' || suffix === '_gcount') && !Number.isInteger(value)) throw new LineError(`${name}: ${value} is not a whole count`);
    if (suffix === '_gsum' && Number.isNaN(value)) throw new LineError(`${name}: _gsum is never NaN`);
    if (type === 'info' && value !== 1) throw new LineError(`${name}: an info sample's value is 1`);
    if (type === 'stateset' && value !== 0 && value !== 1) throw new LineError(`${name}: a state is 0 or 1`);
    if (type === 'summary' && suffix === '' && value < 0) throw new LineError(`${name}: a quantile's value is never negative`);
    if (line.exemplar) {
      if (!((type === 'counter' && suffix === '_total') || suffix === '_bucket')) throw new LineError(`${name}: exemplars belong to a counter's _total or a histogram's buckets`);
      if (line.exemplar.runes > EXEMPLAR_MAX_RUNES) throw new LineError(`${name}: exemplar labels of ${line.exemplar.runes} characters (at most ${EXEMPLAR_MAX_RUNES})`);
    }
  }
}

/** expositionFormat tells the format of a text body: OpenMetrics when its content type says so or it ends in `# EOF`. */
export function expositionFormat(text: string, contentType?: string): ExpositionFormat {
  if (contentType?.startsWith('application/openmetrics-text')) return 'openmetrics';
  // Only the end is looked at (a body may be megabytes).
  const end = text.endsWith('\n') ? text.length - 1 : text.length;
  return text.startsWith('# EOF', end - 5) && (end === 5 || text.charCodeAt(end - 6) === 10) ? 'openmetrics' : 'prometheus';
}

// Expositions are UTF-8 without a byte order mark: invalid bytes and a BOM are faults, not replaced or skipped.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * readExposition parses a body as received (push or scrape): decoded as strict UTF-8, in the format its content type
 * names (else detected), with every fault in `errors`. `describeFaults` words them for a refusal.
 */
export function readExposition(bytes: Uint8Array, contentType?: string): PromParseResult {
  let text: string;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    return { format: contentType?.startsWith('application/openmetrics-text') ? 'openmetrics' : 'prometheus', samples: [], types: {}, errors: [{ line: 1, error: 'the exposition is not UTF-8' }] };
  }
  return parsePromText(text, expositionFormat(text, contentType));
}

/** describeFaults words an invalid exposition's first faults: `not a valid OpenMetrics 1.0 exposition: line 3: …`. */
export function describeFaults(parsed: PromParseResult, most = 5): string {
  const name = parsed.format === 'openmetrics' ? 'OpenMetrics 1.0' : 'Prometheus text 0.0.4';
  const faults = parsed.errors.slice(0, most).map((e) => `line ${e.line}: ${e.error}`);
  return `not a valid ${name} exposition: ${faults.join('; ')}${parsed.errors.length > most ? '; …' : ''}`;
}

/**
 * parsePromText parses an exposition in `format` (by default: OpenMetrics when it ends in `# EOF`). Any fault in
 * `errors` makes the whole exposition invalid; the samples read are returned for the caller to report, not to store.
 */
export function parsePromText(text: string, format: ExpositionFormat = expositionFormat(text)): PromParseResult {
  const om = format === 'openmetrics';
  const parser = new Parser(om);
  if (text.charCodeAt(0) === 0xfeff) parser.fault(1, 'byte order mark: the exposition is UTF-8 without one');
  let lineNo = 0;
  let start = 0;
  let ended = false;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end);
    start = end + 1;
    if (ended) {
      parser.fault(lineNo, 'text after # EOF');
      break;
    }
    try {
      // A CR before the LF ends no line (HELP text alone may hold one: the grammar's escaped-string allows it).
      if (line.endsWith('\r') && !/^\s*#\s*HELP\s/.test(line)) throw new LineError('carriage return: lines end with \\n alone');
      if (om && line === '# EOF') {
        ended = true;
        continue;
      }
      let lead = 0;
      if (!om) while (isBlank(line.charCodeAt(lead))) lead++;
      const first = line.charCodeAt(lead);
      if (Number.isNaN(first)) {
        if (om) throw new LineError('empty line');
        continue;
      }
      if (first === 35) parser.comment(om ? line : line.trimStart(), lineNo);
      else parser.sample(new Reader(line, om).sample(), lineNo);
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      parser.fault(lineNo, err.message);
    }
  }
  parser.close();
  if (om && !ended) parser.fault(lineNo, 'no # EOF at the end (an OpenMetrics exposition ends with it)');
  return parser.result;
}
