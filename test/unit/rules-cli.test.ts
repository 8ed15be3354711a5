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

  it('prints usage and exits 2 without a command', async () => {
    expect(await runRulesCli([])).toBe(2);
    expect(output[0]).toContain('usage: npm run rules -- check');
  });
});
