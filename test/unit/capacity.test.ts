import { CapacityError, forecastCapacity, scalingRecommendation } from '../../core/capacity';

const NOW = Date.parse('2026-11-28T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** hourly builds 30 days of hourly points ending now from `f(days ago → value)` plus deterministic noise. */
function hourly(f: (day: number) => number, noise = 0): Array<[number, number]> {
  return Array.from({ length: 30 * 24 }, (_, i) => {
    const t = NOW - (30 * 24 - i) * HOUR;
    const wobble = noise * Math.sin(i * 12.9898) * 1.7;
    return [t, f((t - (NOW - 30 * DAY)) / DAY) + wobble];
  });
}

describe('capacity planner (core/capacity.ts)', () => {
  it('forecasts linear growth 30 days ahead inside its prediction interval, and says when the limit is crossed', () => {
    // 40 % growing by 0.5 points a day: 55 % now, 70 % in 30 days, 80 % in 50 days.
    const forecast = forecastCapacity(hourly((d) => 40 + 0.5 * d, 1), NOW, { forecastDays: 30, safetyMargin: 0.2, threshold: 80 });
    expect(forecast.model === 'linear' || forecast.model === 'polynomial').toBe(true);
    expect(Math.abs(forecast.predicted_usage - 70)).toBeLessThan(2);
    expect(forecast.confidence_interval[0]).toBeLessThan(70);
    expect(forecast.confidence_interval[1]).toBeGreaterThan(70);
    // The interval is a prediction interval: about ±1.96 × the noise, not a confidence band of the mean.
    expect(forecast.confidence_interval[1] - forecast.confidence_interval[0]).toBeGreaterThan(2);
    expect(forecast.recommended_capacity).toBeCloseTo(forecast.predicted_usage * 1.2, 3);
    expect(forecast.days_until_threshold).toBeGreaterThan(44);
    expect(forecast.days_until_threshold).toBeLessThan(56);
    expect(forecast.scaling_recommendation).toMatchObject({ type: 'ScaleUp', urgency: 'low' });
  });

  it('chooses the exponential model for compounding growth, judged on the newest points', () => {
    // 10 % compounding 5 % a day: 44.8 % now, 90 % in 14 days, 80 % in 11.6.
    const forecast = forecastCapacity(hourly((d) => 10 * Math.exp(0.05 * d)), NOW, { forecastDays: 14, safetyMargin: 0.2, threshold: 80 });
    expect(forecast.model).toBe('exponential');
    expect(forecast.predicted_usage).toBeCloseTo(10 * Math.exp(0.05 * 44), 0);
    expect(forecast.days_until_threshold).toBeCloseTo(11.6, 0);
    expect(forecast.holdout_rmse.exponential!).toBeLessThan(forecast.holdout_rmse.linear!);
    expect(forecast.scaling_recommendation).toMatchObject({ type: 'ScaleUp', urgency: 'medium' });
  });

  it('recommends scaling down a resource that stays far under its limit, and nothing without a limit', () => {
    const flat = hourly(() => 15, 0.5);
    // About 18 % recommended against a 32 % floor (40 % of the limit): a little over half the capacity is enough.
    const down = forecastCapacity(flat, NOW, { forecastDays: 30, safetyMargin: 0.2, threshold: 80 }).scaling_recommendation;
    expect(down.type).toBe('ScaleDown');
    if (down.type !== 'ScaleDown') return;
    expect(down.factor).toBeGreaterThan(0.5);
    expect(down.factor).toBeLessThan(0.6);
    expect(down.savings_potential).toBeCloseTo(1 - down.factor, 5);
    expect(forecastCapacity(flat, NOW, { forecastDays: 30, safetyMargin: 0.2 }).scaling_recommendation).toMatchObject({ type: 'NoAction' });
    expect(scalingRecommendation(60, { forecastDays: 1, safetyMargin: 0.2, threshold: 80 }, null)).toMatchObject({ type: 'NoAction' });
    expect(scalingRecommendation(90, { forecastDays: 1, safetyMargin: 0.2, threshold: 80 }, 0.5)).toMatchObject({ type: 'ScaleUp', factor: 1.13, urgency: 'critical' });
  });

  it('needs three points of history', () => {
    expect(() => forecastCapacity([[NOW, 1], [NOW + HOUR, 2]], NOW, { forecastDays: 1, safetyMargin: 0.2 })).toThrow(CapacityError);
  });

  it('refuses a forecast from history short for its horizon: minutes of data never forecast 30 days', () => {
    // Three points over four minutes of a CPU climbing fast (the demo's first minutes): the forecast that said 609,794 %.
    const minutes: Array<[number, number]> = [[NOW - 4 * 60_000, 40], [NOW - 2 * 60_000, 70], [NOW, 98]];
    expect(() => forecastCapacity(minutes, NOW, { forecastDays: 30, safetyMargin: 0.2, threshold: 80, bounds: [0, 100] })).toThrow(
      'insufficient history: 4 min of data; a 30-day forecast needs at least 7.5 days',
    );
    const week = hourly((d) => 40 + 0.1 * d).slice(-7 * 24);
    expect(() => forecastCapacity(week, NOW, { forecastDays: 30, safetyMargin: 0.2 })).toThrow('needs at least 7.5 days');
    expect(forecastCapacity(week, NOW, { forecastDays: 14, safetyMargin: 0.2 }).points).toBe(7 * 24);
    expect(() => forecastCapacity(hourly((d) => 40 + d).slice(-12), NOW, { forecastDays: 1, safetyMargin: 0.2 })).toThrow('needs at least 24 h');
  });

  it('keeps a percentage within 0–100: a saturating resource scales up by at most what the margin asks', () => {
    // 20 days of CPU climbing 4 points a day to 100 %: the trend alone would say 220 % in 30 days.
    const steep = hourly((d) => Math.min(100, 20 + 4 * d), 0.5).slice(-20 * 24);
    const forecast = forecastCapacity(steep, NOW, { forecastDays: 30, safetyMargin: 0.2, threshold: 80, bounds: [0, 100] });
    expect(forecast.predicted_usage).toBeLessThanOrEqual(100);
    expect(forecast.confidence_interval[0]).toBeGreaterThanOrEqual(0);
    expect(forecast.confidence_interval[1]).toBeLessThanOrEqual(100);
    expect(forecast.scaling_recommendation).toMatchObject({ type: 'ScaleUp' });
    if (forecast.scaling_recommendation.type === 'ScaleUp') expect(forecast.scaling_recommendation.factor).toBeLessThanOrEqual(1.5);
    // A rate is never forecast below 0.
    const falling = hourly((d) => Math.max(1, 500 - 20 * d));
    expect(forecastCapacity(falling, NOW, { forecastDays: 30, safetyMargin: 0.2, bounds: [0, Number.POSITIVE_INFINITY] }).confidence_interval[0]).toBeGreaterThanOrEqual(0);
  });

  it('widens the interval with the horizon, whichever model is chosen', () => {
    for (const f of [(d: number) => 40 + 0.5 * d, (d: number) => 10 * Math.exp(0.03 * d), (d: number) => 30 + 0.02 * d * d]) {
      const width = (days: number) => {
        const [lo, hi] = forecastCapacity(hourly(f, 1), NOW, { forecastDays: days, safetyMargin: 0.2 }).confidence_interval;
        return hi - lo;
      };
      expect(width(30)).toBeGreaterThan(width(1));
    }
  });
});
