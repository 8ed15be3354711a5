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
});
