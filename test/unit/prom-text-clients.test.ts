import { execFileSync } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { parsePromText, type ExpositionFormat, type PromSample } from '../../core/prom-text';

/**
 * What a real client library emits parses, in both formats: random registries of prom-client (counters, gauges,
 * histograms, summaries with random label names, any Unicode label values and help texts, any values, plus the
 * library's default process and Node.js metrics) rendered as Prometheus text 0.0.4 and as OpenMetrics 1.0, read
 * back with no fault, every sample with its labels and value.
 */

const ROOT = path.join(__dirname, '../..');

const FORMATS: Array<[ExpositionFormat, string]> = [
  ['prometheus', Registry.PROMETHEUS_CONTENT_TYPE],
  ['openmetrics', Registry.OPENMETRICS_CONTENT_TYPE],
];

const labelName = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/).filter((n) => n !== 'le' && n !== 'quantile');
const labelValue = fc.string({ unit: 'binary', maxLength: 12 });
const kind = fc.constantFrom('counter', 'gauge', 'histogram', 'summary');
const metricSpec = fc.record({
  kind,
  help: fc.string({ unit: 'binary', maxLength: 20 }),
  labelNames: fc.uniqueArray(labelName, { maxLength: 3 }),
  observations: fc.array(fc.tuple(fc.array(labelValue, { minLength: 3, maxLength: 3 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), { maxLength: 6 }),
});

/** register builds one prom-client registry from the specs (metric i named m<i>_…, so no two families clash). */
type MetricSpec = { kind: string; help: string; labelNames: string[]; observations: Array<[string[], number]> };

function register(specs: MetricSpec[], registry: Registry): void {
  specs.forEach((spec, i) => {
    const options = { name: `m${i}_${spec.kind}`, help: spec.help || 'help', labelNames: spec.labelNames, registers: [registry] };
    const labelsOf = (values: string[]) => Object.fromEntries(spec.labelNames.map((n, j) => [n, values[j]!]));
    if (spec.kind === 'counter') {
      const counter = new Counter(options);
      for (const [values, v] of spec.observations) counter.inc(labelsOf(values), Math.abs(v));
    } else if (spec.kind === 'gauge') {
      const gauge = new Gauge(options);
      for (const [values, v] of spec.observations) gauge.set(labelsOf(values), v);
    } else if (spec.kind === 'histogram') {
      const histogram = new Histogram({ ...options, buckets: [0.1, 1, 10, 1000] });
      // Observations of events are not negative: OpenMetrics forbids a negative _sum (a counter) in histograms and summaries.
      for (const [values, v] of spec.observations) histogram.observe(labelsOf(values), Math.abs(v));
    } else {
      const summary = new Summary({ ...options, percentiles: [0.5, 0.9, 0.99] });
      for (const [values, v] of spec.observations) summary.observe(labelsOf(values), Math.abs(v));
    }
  });
}

/** expectedSamples reads prom-client's own JSON of the registry: every sample it renders, with labels and value. */
async function expectedCount(registry: Registry): Promise<number> {
  const metrics = await registry.getMetricsAsJSON();
  return metrics.reduce((n, m) => n + m.values.length, 0);
}

describe('expositions that prom-client emits', () => {
  it.each(FORMATS)('parse without a fault as %s, every sample kept', async (format, contentType) => {
    await fc.assert(
      // At least one metric: for an empty registry prom-client writes "\n# EOF\n", whose empty line OpenMetrics' ABNF has no room for.
      fc.asyncProperty(fc.array(metricSpec, { minLength: 1, maxLength: 6 }), async (specs) => {
        const registry = new Registry();
        registry.setContentType(contentType as typeof Registry.PROMETHEUS_CONTENT_TYPE);
        register(specs, registry);
        const body = await registry.metrics();
        const parsed = parsePromText(body, format);
        expect(parsed.errors).toEqual([]);
        expect(parsed.samples).toHaveLength(await expectedCount(registry));
        // Each gauge's value and labels are read back as set (empty label values read as absent).
        for (const metric of await registry.getMetricsAsJSON()) {
          if (String(metric.type) !== 'gauge') continue;
          for (const value of metric.values) {
            const labels = Object.fromEntries(Object.entries(value.labels).filter(([, v]) => v !== '').map(([k, v]) => [k, String(v)]));
            const found = parsed.samples.find((s: PromSample) => s.name === metric.name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()));
            expect(found).toBeDefined();
            expect(found!.value + 0).toBe(value.value + 0); // prom-client writes -0 as 0

          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it.each(FORMATS)("parse with the library's default process and Node.js metrics as %s", async (format, contentType) => {
    const registry = new Registry();
    registry.setContentType(contentType as typeof Registry.PROMETHEUS_CONTENT_TYPE);
    collectDefaultMetrics({ register: registry });
    const body = await registry.metrics();
    const parsed = parsePromText(body, format);
    expect(parsed.errors).toEqual([]);
    expect(parsed.samples.length).toBeGreaterThan(20);
    expect(parsed.types).toMatchObject({ nodejs_eventloop_lag_seconds: 'gauge', nodejs_gc_duration_seconds: 'histogram', ...(format === 'openmetrics' ? { process_cpu_seconds: 'counter' } : { process_cpu_seconds_total: 'counter' }) });
  });
});

describe('expositions that the Python client (OpenMetrics\' reference implementation) emits', () => {
  // Its Python, installed by scripts/services.sh (scripts/lib.sh ensure_prometheus_client_python) into the cache's venv.
  const python = path.join(execFileSync('bash', ['-c', 'source scripts/lib.sh >/dev/null && echo "$CACHE"'], { cwd: ROOT, encoding: 'utf8' }).trim(), 'venv/bin/python');
  const pairs = JSON.parse(execFileSync(python, [path.join(__dirname, '../helpers/python-client-expose.py'), '7', '40'], { encoding: 'utf8' })) as Array<Record<ExpositionFormat, string>>;

  it.each(FORMATS.map(([format]) => format))('parse without a fault as %s: counters with exemplars, histograms, summaries, info, stateset, gauge histograms', (format) => {
    for (const pair of pairs) {
      const body = pair[format];
      const parsed = parsePromText(body, format);
      expect(parsed.errors).toEqual([]);
      expect(parsed.samples).toHaveLength(body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length);
      if (format === 'openmetrics') expect(Object.values(parsed.types).sort()).toEqual(['counter', 'gauge', 'gaugehistogram', 'histogram', 'info', 'stateset', 'summary']);
    }
  });
});

describe("OpenMetrics bodies judged by the Python client's parser (the reference implementation) and ours", () => {
  const python = path.join(execFileSync('bash', ['-c', 'source scripts/lib.sh >/dev/null && echo "$CACHE"'], { cwd: ROOT, encoding: 'utf8' }).trim(), 'venv/bin/python');
  // Valid families of every type (and with units, exemplars, timestamps), one to three to a body, each body then
  // changed in at most one place — a line deleted, repeated, moved, replaced or added, or the ending changed — so
  // that each rule of the specification decides some bodies.
  const FAMILIES: Record<string, string[]> = {
    counter: ['# TYPE N counter', '# HELP N help', 'N_total{x="1"} 1', 'N_created{x="1"} 1', 'N_total{x="2"} 2 # {t="1"} 1'],
    gauge: ['# TYPE N gauge', 'N{x="1"} -1', 'N{x="2"} NaN'],
    histogram: ['# TYPE N histogram', 'N_bucket{le="0.5"} 1', 'N_bucket{le="1"} 2 # {} 0.7', 'N_bucket{le="+Inf"} 3', 'N_count 3', 'N_sum 2', 'N_created 1'],
    gaugehistogram: ['# TYPE N gaugehistogram', 'N_bucket{le="-1"} 1', 'N_bucket{le="+Inf"} 3', 'N_gcount 3', 'N_gsum -1'],
    summary: ['# TYPE N summary', 'N{quantile="0.9"} 1', 'N{quantile="0.5"} NaN', 'N_count 3', 'N_sum 2'],
    info: ['# TYPE N info', 'N_info{v="1"} 1'],
    stateset: ['# TYPE N stateset', 'N{N="a"} 1', 'N{N="b"} 0'],
    unknown: ['# TYPE N unknown', 'N 1'],
    unit: ['# TYPE N_seconds gauge', '# UNIT N_seconds seconds', 'N_seconds 1'],
    timestamps: ['# TYPE N gauge', 'N{x="1"} 1 1', 'N{x="1"} 2 2.5', 'N{x="2"} 1 1'],
  };
  const odd = fc.constantFrom(
    '# TYPE a counter', '# TYPE a gauge', '# UNIT a seconds', '# HELP a', '# HELP a x\\', '#', '# comment', '# TYPE a untyped', 'a_total -1', 'a_total NaN', 'a_bucket{le="Inf"} 1', 'a_bucket{le="NaN"} 1',
    'a_count 1.5', 'a_sum -1', 'a{quantile="1.5"} 1', 'a_info 2', 'a{a="x"} 2', 'a 1 # {} 1', 'a_total 1 # {t="x"} NaN', 'a_total 1 #{t="x"} 1', 'a{} 1', 'a{a="1",} 1', 'a 1 ', 'a  1', 'a 0x1', 'a 1e3',
    'a{a="\\q"} 1', 'a{a=x} 1', 'a{a="1",a="2"} 1', 'a{__a="1"} 1', 'a{le="1"} 1', 'a_count{le="1"} 1', 'a 1 NaN', 'a 1 -1.5', '', 'a_bucket{le="1"} 5 # {} 2', `a_total 1 # {t="${'x'.repeat(130)}"} 1`,
  );
  const family = fc.constantFrom(...Object.keys(FAMILIES));
  const body = fc
    .tuple(fc.uniqueArray(family, { minLength: 1, maxLength: 3 }), fc.nat(1000), fc.nat(1000), fc.constantFrom('delete', 'repeat', 'swap', 'replace', 'insert', 'ending', 'none'), odd, fc.constantFrom('# EOF', '', '# EOF\n', '# EOF\nb 1\n', '# EOF \n'))
    .map(([types, i, j, change, oddLine, ending]) => {
      const lines = types.flatMap((t, k) => FAMILIES[t]!.map((l) => l.replaceAll('N', ['a', 'b', 'c'][k]!)));
      const at = i % lines.length;
      if (change === 'delete') lines.splice(at, 1);
      else if (change === 'repeat') lines.splice(at, 0, lines[at]!);
      else if (change === 'swap') [lines[at], lines[j % lines.length]] = [lines[j % lines.length]!, lines[at]!];
      else if (change === 'replace') lines[at] = oddLine;
      else if (change === 'insert') lines.splice(at, 0, oddLine);
      return `${lines.map((l) => `${l}\n`).join('')}${change === 'ending' ? ending : '# EOF\n'}`;
    });
  const bodies = [...new Set(fc.sample(body, { numRuns: 8000, seed: 20261207 }))];

  it('agree on every body but where the specification is stricter than that parser', () => {
    const theirs = JSON.parse(execFileSync(python, [path.join(__dirname, '../helpers/python-client-parse.py')], { input: JSON.stringify(bodies), encoding: 'utf8', maxBuffer: 1 << 28 })) as Array<string | null>;
    const differences = new Map<string, string>();
    let agreed = 0;
    bodies.forEach((body, i) => {
      const ours = parsePromText(body, 'openmetrics').errors;
      if ((ours.length === 0) === (theirs[i] === null)) return void agreed++;
      differences.set(ours.length === 0 ? `accepted: ${theirs[i]}` : ours[0]!.error.replace(/\{.*\}|\d+|"[^"]*"/g, '…'), JSON.stringify(body));
    });
    // Where we refuse and that parser accepts, the specification says so: a metric is one label set and its points
    // come at increasing times (so no sample twice); one space between tokens, none between a name and its labels
    // (the ABNF's `metricname [labels] SP number`); a backslash always escapes something.
    const specStricter = /the same sample twice|invalid value …|invalid escape in HELP text/;
    expect([...differences].filter(([reason]) => !specStricter.test(reason))).toEqual([]);
    expect(agreed / bodies.length).toBeGreaterThan(0.95);
    // Both kinds of body are many: the comparison means something either way.
    const valid = theirs.filter((v) => v === null).length;
    expect(Math.min(valid, bodies.length - valid)).toBeGreaterThan(bodies.length / 10);
  });
});
