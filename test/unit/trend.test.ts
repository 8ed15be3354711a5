import { studentTwoSidedPValue } from '../../core/stats';
import { analyzeSeasonalTrend } from '../../core/trend';

/** Hourly points: level + slope·i + a daily wave + a weekend dip + deterministic noise (±noise). */
function hourly(days: number, { level = 100, slope = 0, daily = 10, weekend = 0, noise = 2, seed = 3 } = {}): number[] {
  let s = seed;
  const random = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: days * 24 }, (_, i) => {
    const dayOfWeek = Math.floor(i / 24) % 7;
    return level + slope * i + daily * Math.sin((2 * Math.PI * (i % 24)) / 24) + (dayOfWeek >= 5 ? -weekend : 0) + (random() - 0.5) * 2 * noise;
  });
}

describe('seasonal-trend analysis (core/trend.ts)', () => {
  it('finds a rising trend, its slope with significance, and the daily and weekly seasonality', () => {
    const values = hourly(28, { slope: 0.05, weekend: 8 });
    const result = analyzeSeasonalTrend(values)!;
    expect(result.trend.direction).toBe('Increasing');
    expect(result.trend.significant).toBe(true);
    expect(result.trend.pValue).toBeLessThan(1e-6);
    expect(result.trend.slopePerPoint).toBeCloseTo(0.05, 2);
    expect(result.seasonality.daily!.strength).toBeGreaterThan(0.8);
    // The daily profile peaks at 6 h (sin's crest) and troughs at 18 h (± an hour of noise), ±10.
    const profile = result.seasonality.daily!.profile;
    expect(Math.abs(profile.indexOf(Math.max(...profile)) - 6)).toBeLessThanOrEqual(1);
    expect(Math.abs(profile.indexOf(Math.min(...profile)) - 18)).toBeLessThanOrEqual(1);
    expect(Math.max(...profile)).toBeCloseTo(10, 0);
    expect(result.seasonality.weekly!.strength).toBeGreaterThan(0.5);
  });

  it('calls a flat noisy series Stable (the slope is not significant) and shows no weekly profile under two weeks', () => {
    const result = analyzeSeasonalTrend(hourly(10, { daily: 5, seed: 9 }))!;
    expect(result.trend.direction).toBe('Stable');
    expect(result.trend.significant).toBe(false);
    expect(result.seasonality.weekly).toBeNull();
    expect(analyzeSeasonalTrend(hourly(1))).toBeNull();
  });

  it('forecasts the next day with a 95 % band that holds the truth', () => {
    const all = hourly(29, { slope: 0.05, weekend: 8, seed: 5 });
    const result = analyzeSeasonalTrend(all.slice(0, 28 * 24))!;
    const truth = all.slice(28 * 24);
    expect(result.forecast).toHaveLength(24);
    const inside = result.forecast.filter((f, k) => truth[k]! >= f.lower && truth[k]! <= f.upper).length;
    expect(inside).toBeGreaterThanOrEqual(22); // 95 % of 24 is 22.8
    for (const f of result.forecast) expect(f.upper - f.lower).toBeLessThan(12); // noise ±2 → σ ≈ 1.2, band ≈ ±2.4 + the weekly profile's error
    // The forecast follows the seasonality: its crest is at 6 h.
    const values = result.forecast.map((f) => f.value);
    expect(Math.abs(values.indexOf(Math.max(...values)) - 6)).toBeLessThanOrEqual(1);
  });

  it('aligns the seasonal profiles with the phase of the first point', () => {
    // The same series starting at 10:00: the profile is still indexed by the hour of the day.
    const values = hourly(14).slice(10);
    const result = analyzeSeasonalTrend(values, {}, 10)!;
    const profile = result.seasonality.daily!.profile;
    // Misaligned, the crest would be at 20 h or 16 h.
    expect(Math.abs(profile.indexOf(Math.max(...profile)) - 6)).toBeLessThanOrEqual(1);
  });

  it('computes two-sided p-values from Student’s t with the residual degrees of freedom (the normal overstates significance)', () => {
    expect(studentTwoSidedPValue(0, 5)).toBeCloseTo(1, 6);
    // Tables: t(0.975, 10) = 2.228, t(0.995, 4) = 4.604, t(0.975, 1) = 12.706; the normal's 1.96 at large df.
    expect(studentTwoSidedPValue(2.228139, 10)).toBeCloseTo(0.05, 4);
    expect(studentTwoSidedPValue(-4.604095, 4)).toBeCloseTo(0.01, 4);
    expect(studentTwoSidedPValue(12.7062, 1)).toBeCloseTo(0.05, 4);
    expect(studentTwoSidedPValue(1.959964, 1e6)).toBeCloseTo(0.05, 4);
    // t = 2 with 10 df: 0.0734, not the normal's 0.0455 — not significant at 5 %.
    expect(studentTwoSidedPValue(2, 10)).toBeCloseTo(0.0734, 3);
    expect(studentTwoSidedPValue(Number.POSITIVE_INFINITY, 10)).toBe(0);
  });
});
