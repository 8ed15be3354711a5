import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BUILT_IN_SLO, burnRate, parseSloDocument, sloOf, sloStatus, type SloCounts } from '../../core/slo';

const counts = (c: Partial<SloCounts>): SloCounts => ({ minutes: 0, upMinutes: 0, latencyMinutes: 0, fastMinutes: 0, requests: 0, failedRequests: 0, ...c });

describe('SLOs (core/slo.ts)', () => {
  it('reads config/slo.yaml: services inherit the default and override only what they name', () => {
    const config = parseSloDocument(readFileSync(path.join(__dirname, '..', '..', 'config', 'slo.yaml'), 'utf8'));
    expect(config.defaults).toEqual({ availability: 99.9, latency: { thresholdMs: 1000, percentile: 95, objective: 99 }, errors: { objective: 99.9 } });
    expect(sloOf(config, 'api-gateway')).toEqual({ availability: 99.9, latency: { thresholdMs: 500, percentile: 95, objective: 99 }, errors: { objective: 99.9 } });
    expect(sloOf(config, 'trading-engine')).toMatchObject({ availability: 99.95, errors: { objective: 99.95 } });
    expect(sloOf(config, 'anything-else')).toBe(config.defaults);
    expect(parseSloDocument('slos: {}').defaults).toBe(BUILT_IN_SLO);
  });

  it('names the field of a bad objective', () => {
    expect(() => parseSloDocument('slos: {svc: {availability: 100}}')).toThrow('slo.yaml:slos.svc.availability: expected a percentage above 0 and below 100');
    expect(() => parseSloDocument('slos: {svc: {latency: {percentile: 99}}}')).toThrow(/latency\.percentile: only 95/);
    expect(() => parseSloDocument('slos: {svc: {latency: {threshold_ms: -1}}}')).toThrow(/latency\.threshold_ms: expected a positive number/);
    expect(() => parseSloDocument('slos: {svc: {uptime: 99}}')).toThrow(/slos\.svc\.uptime: unknown objective/);
    expect(() => parseSloDocument('nothing: 1')).toThrow(/slos: expected a map/);
  });

  it('measures compliance over a window and the error budget left', () => {
    const week = counts({ minutes: 10_080, upMinutes: 10_075, latencyMinutes: 10_000, fastMinutes: 9_950, requests: 1_000_000, failedRequests: 500 });
    const month = counts({ minutes: 43_200, upMinutes: 43_190, latencyMinutes: 43_000, fastMinutes: 42_900, requests: 4_000_000, failedRequests: 1_000 });
    const none = { requests: 0, failed: 0 };
    const status = sloStatus('svc', BUILT_IN_SLO, week, month, { '5m': none, '30m': none, '1h': none, '6h': none });
    // 10,075 of 10,080 minutes = 99.9504 % ≥ 99.9; 9,950 of 10,000 = 99.5 % ≥ 99; 99.95 % of requests ≥ 99.9.
    expect(status.window7d).toEqual({
      availability: { measured: 99.9504, objective: 99.9, met: true },
      latency: { measured: 99.5, objective: 99, met: true },
      errors: { measured: 99.95, objective: 99.9, met: true },
    });
    // 1,000 failed of 4,000,000 = 0.025 % of an allowed 0.1 %: 75 % of the budget left.
    expect(status.errorBudgetRemaining).toBe(75);
    expect(status.burnRates).toEqual({ '5m': null, '30m': null, '1h': null, '6h': null });
    expect(sloStatus('svc', BUILT_IN_SLO, counts({}), counts({}), { '5m': none, '30m': none, '1h': none, '6h': none }).window7d.errors).toEqual({ measured: null, objective: 99.9, met: null });
  });

  it('raises the fast burn only when both its windows burn over 14.4×, the slow over 6×', () => {
    expect(burnRate(1000, 20, 99.9)).toBe(20);
    const at = (rate: number) => ({ requests: 100_000, failed: rate * 100 }); // rate × 0.1 % failing
    const month = counts({ requests: 1 });
    const status = (r: Record<'5m' | '30m' | '1h' | '6h', number>) =>
      sloStatus('svc', BUILT_IN_SLO, month, month, { '5m': at(r['5m']), '30m': at(r['30m']), '1h': at(r['1h']), '6h': at(r['6h']) });
    expect(status({ '5m': 15, '30m': 15, '1h': 15, '6h': 2 })).toMatchObject({ fastBurn: true, slowBurn: false });
    // A burst that is over (the last 5 minutes are clean) no longer pages.
    expect(status({ '5m': 0, '30m': 10, '1h': 15, '6h': 7 })).toMatchObject({ fastBurn: false, slowBurn: true });
    expect(status({ '5m': 14, '30m': 5, '1h': 14, '6h': 5 })).toMatchObject({ fastBurn: false, slowBurn: false });
  });
});
