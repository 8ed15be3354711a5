import { expositionFormat, parsePromText, type ExpositionFormat } from '../../core/prom-text';
import { exportConflicts, toSamples } from '../../core/prom-samples';

/** om wraps lines as an OpenMetrics exposition (each line ended by \n, then # EOF). */
const om = (...lines: string[]) => `${lines.map((l) => `${l}\n`).join('')}# EOF\n`;
const text = (...lines: string[]) => lines.map((l) => `${l}\n`).join('');

describe('parsePromText: Prometheus text format 0.0.4', () => {
  it("parses the format document's example: counters, histogram, summary, escapes, timestamps, comments", () => {
    const body = text(
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '',
      '# Escaping in label values:',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      '',
      '# Minimalistic line:',
      'metric_without_timestamp_and_labels 12.47',
      '',
      '# A weird metric from before the epoch:',
      'something_weird{problem="division by zero"} +Inf -3982045',
      '',
      '# A histogram, which has a pretty complex representation in the text format:',
      '# HELP http_request_duration_seconds A histogram of the request duration.',
      '# TYPE http_request_duration_seconds histogram',
      'http_request_duration_seconds_bucket{le="0.05"} 24054',
      'http_request_duration_seconds_bucket{le="0.1"} 33444',
      'http_request_duration_seconds_bucket{le="+Inf"} 144320',
      'http_request_duration_seconds_sum 53423',
      'http_request_duration_seconds_count 144320',
      '',
      '# Finally a summary, which has a complex representation, too:',
      '# TYPE rpc_duration_seconds summary',
      'rpc_duration_seconds{quantile="0.01"} 3102',
      'rpc_duration_seconds{quantile="0.5"} 4773',
      'rpc_duration_seconds{quantile="0.99"} 76656',
      'rpc_duration_seconds_sum 1.7560473e+07',
      'rpc_duration_seconds_count 2693',
    );
    const { samples, types, errors, format } = parsePromText(body);
    expect(format).toBe('prometheus');
    expect(errors).toEqual([]);
    expect(types).toEqual({ http_requests_total: 'counter', http_request_duration_seconds: 'histogram', rpc_duration_seconds: 'summary' });
    expect(samples[0]).toEqual({ name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027, timestampMs: 1395066363000 });
    expect(samples[2]).toEqual({ name: 'msdos_file_access_time_seconds', labels: { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' }, value: 1.458255915e9 });
    expect(samples[4]).toEqual({ name: 'something_weird', labels: { problem: 'division by zero' }, value: Infinity, timestampMs: -3982045 });
    expect(samples).toHaveLength(15);
  });

  it.each<[string, string]>([
    ['blanks and tabs between tokens, leading and trailing', ' \t a { b = "1" , c="2", }\t 1 \t 5 \t\n'],
    ['no final line feed', 'a 1'],
    ['a trailing comma in labels', 'a{b="1",} 1\n'],
    ['Go float syntax: exponents, Inf, NaN in any case', text('a 1e3', 'b -1.5E-3', 'c +inf', 'd -Infinity', 'e nan', 'f .5', 'g 5.')],
    ['a HELP with escapes and no text', text('# HELP a multi\\nline \\\\ help', 'a 1', '# HELP b', 'b 1')],
    ['TYPE untyped and comments anywhere', text('# a comment', '# TYPE a untyped', 'a 1', '# another', 'b 2')],
    ['a TYPE for a name without samples', text('# TYPE unused counter', 'a 1')],
    ['a counter whose samples have no _total', text('# TYPE requests counter', 'requests 7')],
    ['an empty label value (read as absent)', 'a{b=""} 1\n'],
    ['UTF-8 in label values', 'a{b="ü – 日本"} 1\n'],
  ])('accepts %s', (_what, body) => {
    expect(parsePromText(body, 'prometheus').errors).toEqual([]);
  });

  it.each<[string, string, string]>([
    ['a metric name starting with a digit', '9a 1\n', 'expected a metric name'],
    ['an unterminated label value', 'a{b="1} 2\n', 'unterminated'],
    ['an escape other than \\\\ \\" \\n', 'a{b="\\t"} 1\n', 'invalid escape'],
    ['a label name with a dash', 'a{b-c="1"} 1\n', 'expected = after label b'],
    ['a reserved __ label name', 'a{__name__="x"} 1\n', 'reserved'],
    ['a duplicate label', 'a{b="1",b="2"} 1\n', 'duplicate label b'],
    ['a value that is not a number', 'a one\n', 'invalid value'],
    ['a hex or underscored value', 'a 1_000\n', 'invalid value'],
    ['a fractional timestamp', 'a 1 1.5\n', 'integer milliseconds'],
    ['a token after the timestamp', 'a 1 2 3\n', 'unexpected "3"'],
    ['an exemplar (OpenMetrics only)', 'a_total 1 # {t="1"} 1\n', 'unexpected'],
    ['a carriage return', 'a 1\r\n', 'carriage return'],
    ['a second TYPE', text('# TYPE a gauge', '# TYPE a gauge', 'a 1'), 'second # TYPE'],
    ['a second HELP', text('# HELP a x', '# HELP a y', 'a 1'), 'second # HELP'],
    ['a TYPE after the samples', text('a 1', '# TYPE a gauge'), 'TYPE a after samples'],
    ['a TYPE histogram after its buckets', text('a_bucket{le="+Inf"} 1', '# TYPE a histogram'), 'after samples of a_bucket'],
    ['an unknown type', text('# TYPE a stateset', 'a 1'), 'unknown type'],
    ['a TYPE with two types', '# TYPE a gauge counter\na 1\n', 'one type only'],
    ['a family in two groups', text('a{x="1"} 1', 'b 1', 'a{x="2"} 1'), 'one group'],
    ['the same sample twice', text('a{x="1"} 1', 'a{x="1"} 2'), 'the same sample twice'],
    ['a histogram without +Inf bucket', text('# TYPE h histogram', 'h_bucket{le="1"} 1', 'h_sum 1', 'h_count 1'), 'le="+Inf"'],
    ['buckets out of order', text('# TYPE h histogram', 'h_bucket{le="2"} 1', 'h_bucket{le="1"} 1', 'h_bucket{le="+Inf"} 1'), 'increasing order'],
    ['a +Inf bucket unequal to _count', text('# TYPE h histogram', 'h_bucket{le="+Inf"} 3', 'h_count 4'), 'must equal h_count'],
    ['a bucket without le', text('# TYPE h histogram', 'h_bucket 1'), 'needs the label le'],
    ['an le that is not a number', text('# TYPE h histogram', 'h_bucket{le="x"} 1'), 'invalid le label'],
    ['quantiles out of order', text('# TYPE s summary', 's{quantile="0.9"} 1', 's{quantile="0.5"} 1'), 'increasing order'],
    ['a byte order mark', '\ufeffa 1\n', 'byte order mark'],
  ])('refuses %s', (_what, body, error) => {
    const { errors } = parsePromText(body, 'prometheus');
    expect(errors.map((e) => e.error).join('\n')).toContain(error);
  });
});

describe('parsePromText: OpenMetrics 1.0', () => {
  it("parses the specification's example exposition: seconds timestamps, exemplars, created, # EOF", () => {
    const body = om(
      '# TYPE acme_http_router_request_seconds summary',
      '# UNIT acme_http_router_request_seconds seconds',
      "# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.",
      'acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32',
      'acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0',
      'acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0',
      '# TYPE go_goroutines gauge',
      'go_goroutines 69',
      '# TYPE process_cpu_seconds counter',
      '# UNIT process_cpu_seconds seconds',
      'process_cpu_seconds_total 4.20072246e+06 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67',
    );
    expect(expositionFormat(body)).toBe('openmetrics');
    const { samples, types, errors } = parsePromText(body);
    expect(errors).toEqual([]);
    expect(types).toEqual({ acme_http_router_request_seconds: 'summary', go_goroutines: 'gauge', process_cpu_seconds: 'counter' });
    expect(samples.at(-1)).toEqual({ name: 'process_cpu_seconds_total', labels: {}, value: 4.20072246e6, timestampMs: 1520879607789 });
    expect(samples).toHaveLength(5);
  });

  it.each<[string, string]>([
    ['an empty exposition', '# EOF\n'],
    ['# EOF without the final line feed', '# TYPE a gauge\na 1\n# EOF'],
    ['a family without samples', om('# TYPE foo gauge')],
    ['metadata in any order, empty HELP and UNIT', om('# HELP foo_seconds ', '# UNIT foo_seconds ', '# TYPE foo_seconds counter', 'foo_seconds_total 1')],
    ['escapes in HELP, \\ before another character', om('# HELP a x \\" \\\\ \\n \\a', 'a 1')],
    ['a gauge with points at increasing times', om('# TYPE foo gauge', 'foo 17.0 123', 'foo 18.0 456')],
    ['a summary with several metrics and points', om('# TYPE foo_seconds summary', '# UNIT foo_seconds seconds', 'foo_seconds_count{a="bb"} 0 123', 'foo_seconds_sum{a="bb"} 0 123', 'foo_seconds_count{a="bb"} 0 456', 'foo_seconds_sum{a="bb"} 0 456', 'foo_seconds_count{a="ccc"} 0 123', 'foo_seconds_sum{a="ccc"} 0 123')],
    ['a counter with created', om('# TYPE foo counter', 'foo_total 17.0 1520879607.789', 'foo_created 1520430000.123 1520879607.789')],
    ['a stateset', om('# TYPE foo stateset', 'foo{entity="controller",foo="a"} 1.0', 'foo{entity="controller",foo="bb"} 0.0', 'foo{entity="replica",foo="a"} 1.0', 'foo{entity="replica",foo="bb"} 0.0')],
    ['an info', om('# TYPE foo info', 'foo_info{name="pretty name",version="8.2.7"} 1')],
    ['a histogram with odd but canonical-enough le values and exemplars', om('# TYPE foo histogram', 'foo_bucket{le="0.0"} 0', 'foo_bucket{le="1e-05"} 0', 'foo_bucket{le="0.1"} 8 # {} 0.054', 'foo_bucket{le="1"} 11 # {trace_id="KOO5S4vxi0o"} 0.67', 'foo_bucket{le="10"} 17 # {trace_id="oHg5SJYRHA0"} 9.8 1520879607.789', 'foo_bucket{le="1.1e+23"} 17', 'foo_bucket{le="+Inf"} 17', 'foo_count 17', 'foo_sum 324789.3', 'foo_created 1520430000.123')],
    ['a histogram with negative buckets and no sum', om('# TYPE foo histogram', 'foo_bucket{le="-1"} 1', 'foo_bucket{le="+Inf"} 2')],
    ['a gauge histogram with a negative gsum', om('# TYPE foo gaugehistogram', 'foo_bucket{le="-1"} 20.0', 'foo_bucket{le="+Inf"} 42.0', 'foo_gcount 42.0', 'foo_gsum -3289.3')],
    ['a summary with quantiles in any order and a NaN quantile value', om('# TYPE foo summary', 'foo{quantile="0.99"} 150.0', 'foo{quantile="0.95"} NaN', 'foo_count 17', 'foo_sum 3')],
    ['a _sum after a gauge histogram (a family of its own)', om('# TYPE foo gaugehistogram', 'foo_bucket{le="+Inf"} 1', 'foo_sum 1')],
    ['an unknown family and untyped samples', om('# TYPE foo unknown', 'foo 42.23', 'bar_total 1', 'baz 2')],
    ['a family named like another type\'s suffix that clashes with nothing', om('# TYPE foo gauge', 'foo 1', 'foo_total 2')],
    ['numbers: leading zeros, exponents, infinities in any case', om('a 0042', 'b 1.', 'c .5', 'd 1E5', 'e -inf', 'f +Infinity', 'g nan')],
    ['negative and fractional timestamps', om('a 1 -1.5')],
    ['labels {} and NULL bytes in values', om('a{} 1', 'b{x="\u0000"} 1')],
    ['a carriage return inside a label value, a bare quote in HELP', om('# HELP a say "x"', 'a{x="\r"} 1')],
  ])('accepts %s', (_what, body) => {
    expect(parsePromText(body, 'openmetrics').errors).toEqual([]);
  });

  it.each<[string, string, string]>([
    ['no # EOF', text('a 1'), 'no # EOF'],
    ['text after # EOF', '# EOF\na 1\n', 'text after # EOF'],
    ['an empty line after # EOF', '# EOF\n\n', 'text after # EOF'],
    ['an empty line', 'a 1\n\n# EOF\n', 'empty line'],
    ['a carriage return', 'a 1\r\n# EOF\n', 'carriage return'],
    ['two spaces between tokens', om('a  1'), 'one space'],
    ['a tab', om('a\t1'), 'expected a space'],
    ['a leading space', om(' a 1'), 'expected a metric name'],
    ['a trailing space', om('a 1 '), 'trailing space'],
    ['a space in the labels', om('a{b="1", c="2"} 1'), 'expected a label name'],
    ['a trailing comma in the labels', om('a{b="1",} 1'), 'no comma before }'],
    ['a comment', om('# just a comment', 'a 1'), 'only # TYPE'],
    ['an unknown type', om('# TYPE a untyped', 'a 1'), 'unknown type'],
    ['a hex value', om('a 0x1p3'), 'invalid value'],
    ['an Inf timestamp', om('a 1 +Inf'), 'invalid timestamp'],
    ['a NaN timestamp', om('a 1 NaN'), 'invalid timestamp'],
    ['a HELP without its space', om('# HELP a', 'a 1'), 'expected a space after the name'],
    ['a second TYPE', om('# TYPE a gauge', '# TYPE a gauge', 'a 1'), 'second # TYPE'],
    ['a second UNIT', om('# TYPE a_s gauge', '# UNIT a_s s', '# UNIT a_s s', 'a_s 1'), 'second # UNIT'],
    ['metadata after samples', om('# TYPE a gauge', 'a 1', '# HELP a late'), 'metadata comes first'],
    ['a unit that is not the name\'s suffix', om('# TYPE foo counter', '# UNIT foo seconds', 'foo_total 1'), 'must end in _seconds'],
    ['a unit on an info', om('# TYPE foo_bytes info', '# UNIT foo_bytes bytes', 'foo_bytes_info 1'), 'has no unit'],
    ['interleaved families', om('# TYPE a gauge', 'a 1', '# TYPE b gauge', 'b 1', 'a{x="1"} 2'), 'one group'],
    ['interleaved metrics', om('# TYPE a gauge', 'a{x="1"} 1 1', 'a{x="2"} 1 1', 'a{x="1"} 2 2'), 'come together'],
    ['interleaved metric points', om('# TYPE foo_seconds summary', 'foo_seconds_count{a="bb"} 0 123', 'foo_seconds_count{a="bb"} 0 456', 'foo_seconds_sum{a="bb"} 0 123'), 'increasing time'],
    ['a point repeated at one time', om('a 1 1', 'a 2 1'), 'the same sample twice'],
    ['points with and without timestamps', om('a 1 1', 'a 2'), 'all have a timestamp or none'],
    ['a gauge sample with a suffix of its own type', om('# TYPE foo counter', 'foo 1'), 'not a sample name of counter foo'],
    ['a family clashing with another\'s samples', om('# TYPE foo counter', 'foo_total 1', '# TYPE foo_created gauge', 'foo_created 1'), 'clashes'],
    ['a negative counter', om('# TYPE foo counter', 'foo_total -1'), 'negative'],
    ['a NaN counter', om('# TYPE foo counter', 'foo_total NaN'), 'NaN'],
    ['a histogram without buckets', om('# TYPE foo histogram', 'foo_count 0', 'foo_sum 0'), 'without buckets'],
    ['a histogram without +Inf', om('# TYPE foo histogram', 'foo_bucket{le="1"} 0'), 'le="+Inf"'],
    ['non-cumulative buckets', om('# TYPE foo histogram', 'foo_bucket{le="1"} 5', 'foo_bucket{le="+Inf"} 3'), 'cumulative'],
    ['buckets out of order', om('# TYPE foo histogram', 'foo_bucket{le="2"} 0', 'foo_bucket{le="1"} 0', 'foo_bucket{le="+Inf"} 0'), 'increasing order'],
    ['a NaN le', om('# TYPE foo histogram', 'foo_bucket{le="NaN"} 0', 'foo_bucket{le="+Inf"} 0'), 'le="NaN"'],
    ['a fractional bucket', om('# TYPE foo histogram', 'foo_bucket{le="+Inf"} 1.5'), 'whole count'],
    ['_sum without _count', om('# TYPE foo histogram', 'foo_bucket{le="+Inf"} 1', 'foo_sum 1'), 'together or not at all'],
    ['a _count unequal to +Inf', om('# TYPE foo histogram', 'foo_bucket{le="+Inf"} 1', 'foo_count 2', 'foo_sum 1'), 'must equal'],
    ['negative buckets with a sum', om('# TYPE foo histogram', 'foo_bucket{le="-1"} 1', 'foo_bucket{le="+Inf"} 1', 'foo_count 1', 'foo_sum 1'), 'negative buckets'],
    ['le on _count', om('# TYPE foo histogram', 'foo_bucket{le="+Inf"} 1', 'foo_count{le="1"} 1'), 'only _bucket samples carry le'],
    ['a gauge histogram\'s _gsum without _gcount', om('# TYPE foo gaugehistogram', 'foo_bucket{le="+Inf"} 1', 'foo_gsum 1'), 'together or not at all'],
    ['a gauge histogram\'s negative _gsum without negative buckets', om('# TYPE foo gaugehistogram', 'foo_bucket{le="+Inf"} 1', 'foo_gcount 1', 'foo_gsum -1'), 'negative without negative buckets'],
    ['a gauge histogram\'s fractional _gcount', om('# TYPE foo gaugehistogram', 'foo_bucket{le="+Inf"} 1', 'foo_gcount 1.5', 'foo_gsum 1'), 'whole count'],
    ['a quantile outside [0, 1]', om('# TYPE foo summary', 'foo{quantile="1.5"} 1'), 'not within [0, 1]'],
    ['a summary value without quantile', om('# TYPE foo summary', 'foo 1'), 'needs the label quantile'],
    ['a negative summary count', om('# TYPE foo summary', 'foo_count -1'), 'negative'],
    ['an info valued 2', om('# TYPE foo info', 'foo_info 2'), 'value is 1'],
    ['a state valued 2', om('# TYPE foo stateset', 'foo{foo="a"} 2'), '0 or 1'],
    ['a stateset sample without its state label', om('# TYPE foo stateset', 'foo{x="a"} 1'), 'needs the label foo'],
    ['an exemplar on a gauge', om('# TYPE foo gauge', 'foo 1 # {a="b"} 1'), 'exemplars belong'],
    ['an exemplar on _created', om('# TYPE foo counter', 'foo_total 1', 'foo_created 1 # {a="b"} 1'), 'exemplars belong'],
    ['an exemplar without labels', om('# TYPE foo counter', 'foo_total 1 # 1'), 'exemplar'],
    ['an exemplar over 128 characters', om('# TYPE foo counter', `foo_total 1 # {trace_id="${'x'.repeat(121)}"} 1`), '129 characters'],
    ['an exemplar outside its bucket', om('# TYPE foo histogram', 'foo_bucket{le="1"} 1 # {} 5', 'foo_bucket{le="+Inf"} 1'), 'not within the bucket'],
    ['an exemplar with a NaN timestamp', om('# TYPE foo counter', 'foo_total 1 # {} 1 NaN'), 'invalid exemplar timestamp'],
    ['a token after the exemplar', om('# TYPE foo counter', 'foo_total 1 # {} 1 1 1'), 'after the exemplar'],
  ])('refuses %s', (_what, body, error) => {
    const { errors } = parsePromText(body, 'openmetrics');
    expect(errors.map((e) => e.error).join('\n')).toContain(error);
  });

  it('names the line of each fault', () => {
    const { errors } = parsePromText(om('# TYPE foo counter', 'foo_total 1', 'foo_total{a="1"} -1', '9bad 1'));
    expect(errors).toEqual([
      { line: 3, error: expect.stringContaining('negative') },
      { line: 4, error: expect.stringContaining('expected a metric name') },
    ]);
  });
});

describe('expositionFormat', () => {
  it.each<[string, string | undefined, ExpositionFormat]>([
    ['a 1\n', undefined, 'prometheus'],
    ['a 1\n# EOF\n', undefined, 'openmetrics'],
    ['a 1\n# EOF', 'text/plain; version=0.0.4', 'openmetrics'],
    ['a 1\n', 'application/openmetrics-text; version=1.0.0; charset=utf-8', 'openmetrics'],
    ['# EOF\na 1\n', undefined, 'prometheus'],
  ])('%j (%s) is %s', (body, contentType, format) => {
    expect(expositionFormat(body, contentType)).toBe(format);
  });
});

describe('exportConflicts', () => {
  it("renames the scraped labels the target sets as exported_<name>, as Prometheus' honor_labels: false", () => {
    expect(exportConflicts({ job: 'j', instance: 'i', cpu: '0', team: 't' }, new Set(['job', 'instance', 'team']))).toEqual({ exported_job: 'j', exported_instance: 'i', cpu: '0', exported_team: 't' });
    expect(exportConflicts({ job: 'j', exported_job: 'x' }, new Set(['job']))).toEqual({ exported_job: 'x', exported_exported_job: 'j' });
    const untouched = { cpu: '0' };
    expect(exportConflicts(untouched, new Set(['job']))).toBe(untouched);
  });
});

describe('toSamples', () => {
  it('takes service from service or job, instance from instance, adds target labels, and refuses NaN and service-less samples', () => {
    const { samples } = parsePromText('a{job="node",instance="h:9100",cpu="0"} 1\nb 2\nc{service="x"} NaN\n');
    const withIdentity = toSamples(samples, { labels: { team: 'ml' } }, 1000);
    expect(withIdentity.samples).toEqual([{ timestampMs: 1000, service: 'node', instance: 'h:9100', name: 'a', value: 1, labels: { team: 'ml', cpu: '0' } }]);
    expect(withIdentity.errors.map((e) => e.index)).toEqual([1, 2]);
    const long = parsePromText(`x{service="s",a="${'v'.repeat(20)}"} 1\n`).samples;
    expect(toSamples(long, {}, 0, { maxLabels: 4, maxLabelLength: 10 }).errors).toEqual([{ index: 0, error: 'x: label a longer than 10 characters' }]);
    expect(toSamples(samples, { service: 'svc', instance: 'i' }, 5).samples[1]).toEqual({ timestampMs: 5, service: 'svc', instance: 'i', name: 'b', value: 2, labels: {} });
  });
});
