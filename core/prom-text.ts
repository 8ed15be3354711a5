import type { Labels, Sample } from './types';
import { timestampProblem } from './samples';

/**
 * Parser of the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text: HELP/TYPE/UNIT comments,
 * label value escapes (\\, \", \n), +Inf/-Inf/NaN, optional timestamps (milliseconds in 0.0.4, seconds in
 * OpenMetrics), exemplars (` # {…} v [ts]`, ignored) and the `# EOF` terminator. One pass over the text, no regex
 * per line, because it sits on the ingest hot path.
 */

/** PromSample is one parsed sample line. */
export interface PromSample {
  name: string;
  labels: Labels;
  value: number;
  /** Milliseconds since the epoch, when the line carried a timestamp. */
  timestampMs?: number;
}

/** PromParseResult is every parsed sample, the declared metric types, and each line that did not parse. */
export interface PromParseResult {
  samples: PromSample[];
  types: Record<string, string>;
  errors: Array<{ line: number; error: string }>;
}

class LineError extends Error {}

const isNameStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 57);

function parseValue(text: string): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
    case '+inf':
    case 'inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
    case '-inf':
      return Number.NEGATIVE_INFINITY;
    case 'NaN':
    case 'nan':
      return Number.NaN;
  }
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new LineError(`invalid value "${text}"`);
  return value;
}

function parseLine(line: string, openMetrics: boolean): PromSample {
  let pos = 0;
  const n = line.length;
  while (pos < n && isNameChar(line.charCodeAt(pos))) pos++;
  if (pos === 0 || !isNameStart(line.charCodeAt(0))) throw new LineError('expected a metric name');
  const name = line.slice(0, pos);
  const labels: Labels = {};
  if (line.charCodeAt(pos) === 123 /* { */) {
    pos++;
    for (;;) {
      while (line.charCodeAt(pos) === 32) pos++;
      if (line.charCodeAt(pos) === 125 /* } */) {
        pos++;
        break;
      }
      const start = pos;
      while (pos < n && isNameChar(line.charCodeAt(pos))) pos++;
      if (pos === start || !isNameStart(line.charCodeAt(start))) throw new LineError(`expected a label name at column ${start + 1}`);
      const label = line.slice(start, pos);
      while (line.charCodeAt(pos) === 32) pos++;
      if (line.charCodeAt(pos) !== 61 /* = */) throw new LineError(`expected = after label ${label}`);
      pos++;
      while (line.charCodeAt(pos) === 32) pos++;
      if (line.charCodeAt(pos) !== 34 /* " */) throw new LineError(`expected a quoted value for label ${label}`);
      pos++;
      let value = '';
      let chunk = pos;
      for (;;) {
        if (pos >= n) throw new LineError(`unterminated value of label ${label}`);
        const c = line.charCodeAt(pos);
        if (c === 34) break;
        if (c === 92 /* \ */) {
          value += line.slice(chunk, pos);
          const next = line[pos + 1];
          value += next === 'n' ? '\n' : next === '\\' ? '\\' : next === '"' ? '"' : `\\${next ?? ''}`;
          pos += 2;
          chunk = pos;
        } else {
          pos++;
        }
      }
      value += line.slice(chunk, pos);
      pos++;
      if (label in labels) throw new LineError(`duplicate label ${label}`);
      labels[label] = value;
      while (line.charCodeAt(pos) === 32) pos++;
      if (line.charCodeAt(pos) === 44 /* , */) pos++;
      else if (line.charCodeAt(pos) !== 125) throw new LineError(`expected , or } after label ${label}`);
    }
  }
  if (line.charCodeAt(pos) !== 32 && line.charCodeAt(pos) !== 9) throw new LineError('expected a space before the value');
  // Exemplars (OpenMetrics) follow " # "; they are not stored.
  const hash = line.indexOf(' # ', pos);
  const rest = (hash >= 0 ? line.slice(pos, hash) : line.slice(pos)).trim().split(/[ \t]+/);
  if (rest.length > 2 || rest[0] === '') throw new LineError('expected "value [timestamp]"');
  const value = parseValue(rest[0]!);
  const sample: PromSample = { name, labels, value };
  if (rest.length === 2) {
    const ts = Number(rest[1]);
    if (!Number.isFinite(ts)) throw new LineError(`invalid timestamp "${rest[1]}"`);
    sample.timestampMs = Math.round(openMetrics ? ts * 1000 : ts);
  }
  return sample;
}

/** parsePromText parses an exposition; `openMetrics` is detected from a `# EOF` line when not given. */
export function parsePromText(text: string, openMetrics?: boolean): PromParseResult {
  const om = openMetrics ?? /(^|\n)# EOF\r?(\n|$)/.test(text);
  const result: PromParseResult = { samples: [], types: {}, errors: [] };
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.length === 0) {
      if (start > text.length) break;
      continue;
    }
    if (line.charCodeAt(0) === 35 /* # */) {
      const parts = line.split(/[ \t]+/);
      if (parts[1] === 'TYPE' && parts[2] && parts[3]) result.types[parts[2]] = parts[3];
      if (parts[1] === 'EOF') break;
      continue;
    }
    try {
      result.samples.push(parseLine(line, om));
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      result.errors.push({ line: lineNo, error: err.message });
    }
  }
  return result;
}

/** SeriesIdentity says which service and instance scraped or pushed samples belong to, and which labels to add. */
export interface SeriesIdentity {
  service?: string;
  instance?: string;
  labels?: Labels;
}

/**
 * toSamples turns parsed samples into stored samples: the service comes from the `service` or `job` label, else the
 * identity; the instance from `instance`; target labels are added (a sample's own label wins, as Prometheus'
 * honor_labels). Samples without a service, and NaN values (they poison every aggregate), are returned as errors.
 */
export function toSamples(
  parsed: PromSample[],
  identity: SeriesIdentity,
  nowMs: number,
  limits: { maxLabels: number; maxLabelLength: number; oldestMs?: number } = { maxLabels: 32, maxLabelLength: 1024 },
  /** keepJob: a `job` label stays a label (remote write: PromQL over the series must find it) besides naming the service. */
  options: { keepJob?: boolean } = {},
): { samples: Sample[]; errors: Array<{ index: number; error: string }> } {
  const samples: Sample[] = [];
  const errors: Array<{ index: number; error: string }> = [];
  parsed.forEach((p, index) => {
    const { service: svcLabel, job, instance, ...own } = p.labels;
    if (options.keepJob && job !== undefined) own.job = job;
    const service = svcLabel ?? job ?? identity.service;
    if (!service) {
      errors.push({ index, error: `${p.name}: no service (add a service or job label, or ?service= to the URL)` });
      return;
    }
    if (Number.isNaN(p.value)) {
      errors.push({ index, error: `${p.name}: NaN values are not stored` });
      return;
    }
    const names = Object.keys(own);
    if (names.length > limits.maxLabels) {
      errors.push({ index, error: `${p.name}: more than ${limits.maxLabels} labels` });
      return;
    }
    const long = names.find((k) => own[k]!.length > limits.maxLabelLength);
    if (long !== undefined) {
      errors.push({ index, error: `${p.name}: label ${long} longer than ${limits.maxLabelLength} characters` });
      return;
    }
    const problem = p.timestampMs === undefined ? undefined : timestampProblem(p.timestampMs, nowMs, limits.oldestMs);
    if (problem) {
      errors.push({ index, error: `${p.name}: ${problem}` });
      return;
    }
    samples.push({
      timestampMs: p.timestampMs ?? nowMs,
      service,
      instance: instance ?? identity.instance ?? '',
      name: p.name,
      value: p.value,
      labels: identity.labels ? { ...identity.labels, ...own } : own,
    });
  });
  return { samples, errors };
}
