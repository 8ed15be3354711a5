/**
 * The seed's TrendAnalyzer: the average of the last `window` points against the `window` before them. Its exact
 * semantics, with the seed's two holes closed: fewer than 2 × window points is `Insufficient` (the seed checked
 * one window and then read two), and an earlier average of zero is no division by zero — a rise from zero is
 * Increasing, a fall Decreasing, zero to zero Stable. Pure.
 */
export type TrendDirection = 'Increasing' | 'Decreasing' | 'Stable' | 'Insufficient';

export function detectTrend(points: readonly number[], window: number, sensitivity: number): TrendDirection {
  if (window < 1 || points.length < 2 * window) return 'Insufficient';
  const mean = (from: number, to: number) => points.slice(from, to).reduce((a, b) => a + b, 0) / window;
  const recent = mean(points.length - window, points.length);
  const earlier = mean(points.length - 2 * window, points.length - window);
  if (earlier === 0) return recent > 0 ? 'Increasing' : recent < 0 ? 'Decreasing' : 'Stable';
  const change = (recent - earlier) / Math.abs(earlier);
  return change > sensitivity ? 'Increasing' : change < -sensitivity ? 'Decreasing' : 'Stable';
}
