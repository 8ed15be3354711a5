import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runRulesCli } from '../../workers/rules-cli';

describe('npm run rules -- check', () => {
  const output: string[] = [];
  beforeEach(() => {
    output.length = 0;
    jest.spyOn(console, 'log').mockImplementation((text: string) => void output.push(text));
    jest.spyOn(console, 'error').mockImplementation((text: string) => void output.push(text));
  });
  afterEach(() => jest.restoreAllMocks());

  it('accepts the shipped rules and lists each with its expression and duration', async () => {
    expect(await runRulesCli(['check', path.resolve(__dirname, '../../config/rules')])).toBe(0);
    expect(output.join('\n')).toContain('critical critical_cpu_usage: cpu_usage_percent > 95 for 1m');
    expect(output.join('\n')).toContain('info     api_usage_spike: rate(api_requests_total[5m]) > 1000 for 2m');
  });

  it('exits 1 naming the field and column of a bad expression', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pm-rules-')), 'bad.yaml');
    writeFileSync(file, 'r:\n  g:\n    - name: bad\n      expression: "cpu_usage_percent >> 1"\n');
    expect(await runRulesCli(['check', file])).toBe(1);
    expect(output.join('\n')).toContain('bad.yaml:r.g[0].expression: syntax error near "> 1" at column 20');
  });

  it('names every problem of a Prometheus rule file at its line and column, as promtool words it', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pm-rules-')), 'bad.yml');
    writeFileSync(
      file,
      [
        'groups:',
        '  - name: g',
        '    rules:',
        '      - alert: A',
        '        expr: rate(x[5m] > 1',
        '      - record: bad name',
        '        expr: up',
        '      - {alert: C, record: c, expr: up}',
        '      - alert: D',
        '        expr: up',
        '        fro: 5m',
        '  - name: g',
        '    rules: []',
      ].join('\n'),
    );
    expect(await runRulesCli(['check', file])).toBe(1);
    expect(output.join('\n').split('\n').slice(1)).toEqual([
      `${file}: 5:15: group "g", rule 1, "A": expr: unexpected end of expression at column 15`,
      `${file}: 6:17: group "g", rule 2, "bad name": record: required metric name matching [a-zA-Z_:][a-zA-Z0-9_:]*`,
      `${file}: 8:9: group "g", rule 3, "C": only one of "record" and "alert" must be set`,
      `${file}: 11:9: group "g", rule 4, "D": field fro not found in type rulefmt.Rule`,
      `${file}: 12:11: groupname: "g" is repeated in the same file`,
    ]);
  });

  it('accepts and refuses the rule files promtool accepts and refuses', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-rules-promtool-'));
    const group = (rules: string) => `groups:\n  - name: g\n    limit: 3\n    interval: 30s\n    rules:\n${rules}`;
    const files: Record<string, string> = {
      'guards.yml': group('      - alert: A\n        expr: sum by (job) (rate(x_total[5m])) > 1 and on(job) up == 1\n        for: 5m\n        keep_firing_for: 2m\n        labels: {severity: page}\n        annotations: {summary: "{{ $labels.job }} at {{ $value | humanize }}"}\n'),
      'record.yml': group('      - record: job:up:sum\n        expr: sum by (job) (up)\n      - alert: Down\n        expr: job:up:sum == 0\n'),
      'histogram.yml': group('      - alert: Slow\n        expr: histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m]))) > 0.5 unless absent(h_bucket)\n'),
      'pair.yml': group('      - {alert: Cpu, expr: cpu > 80, labels: {severity: warning}}\n      - {alert: Cpu, expr: cpu > 95, labels: {severity: critical}}\n'),
      'syntax.yml': group('      - alert: A\n        expr: rate(x[5m] > 1\n'),
      'vector.yml': group('      - alert: A\n        expr: x[5m]\n'),
      'record-name.yml': group('      - record: bad name\n        expr: up\n'),
      'both.yml': group('      - {alert: A, record: a, expr: up}\n'),
      'unknown-field.yml': group('      - {alert: A, expr: up, fro: 5m}\n'),
      'duration.yml': group('      - {alert: A, expr: up, for: 5x}\n'),
      'repeated.yml': `${group('      - {alert: A, expr: up}\n')}  - name: g\n    rules: []\n`,
    };
    const verdicts: number[] = [];
    for (const [name, text] of Object.entries(files)) {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      let promtool = 0;
      try {
        execFileSync('promtool', ['check', 'rules', file], { stdio: 'ignore' });
      } catch {
        promtool = 1;
      }
      // Refused on purpose: an alert whose expression is a range vector — promtool only parses it, and Prometheus
      // then fails every evaluation of the rule; we say so when the file is loaded.
      const onPurpose = name === 'vector.yml';
      if (onPurpose) expect(promtool).toBe(0);
      expect([name, await runRulesCli(['check', file])]).toEqual([name, onPurpose ? 1 : promtool]);
      verdicts.push(promtool);
    }
    // Both verdicts occur: promtool accepts the five valid files (the range-vector alert among them) and refuses six.
    expect(verdicts.filter((v) => v === 0)).toHaveLength(5);
  });

  it('prints usage and exits 2 without a command', async () => {
    expect(await runRulesCli([])).toBe(2);
    expect(output[0]).toContain('usage: npm run rules -- check');
  });
});
