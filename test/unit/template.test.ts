import { expandAll, expandTemplate, goFloat, printf, templateProblems } from '../../core/template';

/** Alert templates as Prometheus renders them (Go's text/template, fmt and Prometheus' humanize functions). */
describe('alert templates', () => {
  const data = { labels: { instance: 'db-1', service: 'orders', severity: 'page' }, value: 0.123456, externalLabels: { cluster: 'eu' } };
  it('expands $labels, $value, $externalLabels and the dot forms', () => {
    expect(expandTemplate('{{ $labels.instance }} at {{ $value }}', data)).toBe('db-1 at 0.123456');
    expect(expandTemplate('{{ $externalLabels.cluster }}/{{ .Labels.service }}/{{ .Value }}', data)).toBe('eu/orders/0.123456');
    expect(expandTemplate('{{ $labels.missing }}', data)).toBe('<no value>');
    expect(expandAll({ summary: 'High CPU on {{ $labels.instance }}', plain: 'no template' }, data)).toEqual({ summary: 'High CPU on db-1', plain: 'no template' });
  });
  it('formats values as Go does (%v, printf) and humanizes as Prometheus does', () => {
    expect([1e6, 123456, 1234567, 0.0001, 0.00001, 95, 0.1, -3.5, NaN, Infinity].map(goFloat)).toEqual(['1e+06', '123456', '1.234567e+06', '0.0001', '1e-05', '95', '0.1', '-3.5', 'NaN', '+Inf']);
    expect(printf('%5.1f|%d|%s|%.2e|%05d|%-4s|', 3.14159, 42.7, 'x', 12345, 42, 'ab')).toBe('  3.1|42|x|1.23e+04|00042|ab  |');
    expect(expandTemplate('{{ printf "%.2f" $value }} {{ $value | printf "%.1f" }}', data)).toBe('0.12 0.1');
    expect(expandTemplate('{{ $value | humanizePercentage }}', data)).toBe('12.35%');
    expect(expandTemplate('{{ humanize 1234567 }} {{ humanize 0.00123 }} {{ 1048576 | humanize1024 }}', data)).toBe('1.235M 1.23m 1Mi');
    expect(expandTemplate('{{ humanizeDuration 3725.5 }} {{ humanizeDuration 0.25 }}', data)).toBe('1h 2m 5.5s 250ms');
    expect(expandTemplate('{{ humanizeTimestamp 1700000000 }}', data)).toBe('2023-11-14 22:13:20 +0000 UTC');
    expect(expandTemplate('{{ $labels.service | toUpper }} {{ title "order book" }}', data)).toBe('ORDERS Order Book');
  });
  it('takes if/else on a comparison and leaves what it does not know as written', () => {
    expect(expandTemplate('{{ if gt $value 0.1 }}high{{ else }}low{{ end }}', data)).toBe('high');
    expect(expandTemplate('{{- if eq $labels.severity "page" -}} wake up {{- end }}', data)).toBe('wake up');
    expect(expandTemplate('{{ range $labels }}x{{ end }}', data)).toBe('{{ range $labels }}x{{ end }}');
    expect(templateProblems('{{ range $labels }}x{{ end }}')).toMatch(/range/);
    expect(templateProblems('{{ nosuch $value }}')).toMatch(/not defined/);
    expect(templateProblems('{{ $labels.instance }}')).toBeUndefined();
  });
});
