import { robustDetector, zScoreDetector, zScoreVerdict } from '../../core/anomaly';

describe("the seed's z-score detector (core/anomaly.ts)", () => {
  it('judges a value against the mean and standard deviation of the previous window, High beyond 1.5 × the threshold', () => {
    const history = [10, 12, 10, 12]; // mean 11, std 1
    expect(zScoreVerdict(history, 13.5, 4, 2)).toEqual({ kind: 'Anomaly', severity: 'Medium', score: 2.5, expected: [9, 13], method: 'zscore' });
    expect(zScoreVerdict(history, 15, 4, 2)).toMatchObject({ kind: 'Anomaly', severity: 'High', score: 4 });
    expect(zScoreVerdict(history, 12.9, 4, 2)).toMatchObject({ kind: 'Normal' });
    // Exactly at the threshold is not an anomaly (the seed compares with >).
    expect(zScoreVerdict(history, 13, 4, 2)).toMatchObject({ kind: 'Normal', score: 2 });
    expect(zScoreVerdict(history.slice(1), 50, 4, 2)).toEqual({ kind: 'InsufficientData' });
  });

  it('handles a constant window: the same value is normal, any other an anomaly', () => {
    expect(zScoreVerdict([5, 5, 5], 5, 3, 3)).toMatchObject({ kind: 'Normal', score: 0 });
    expect(zScoreVerdict([5, 5, 5], 5.1, 3, 3)).toMatchObject({ kind: 'Anomaly', severity: 'High', score: Infinity });
    expect(zScoreVerdict([5, 5, 5], 4, 3, 3)).toMatchObject({ kind: 'Anomaly', score: -Infinity });
  });

  it('streams over the previous window only', () => {
    const detector = zScoreDetector(3, 3);
    expect([1, 2, 3].map((v) => detector.next(v).kind)).toEqual(['InsufficientData', 'InsufficientData', 'InsufficientData']);
    expect(detector.next(2).kind).toBe('Normal');
    expect(detector.next(100).kind).toBe('Anomaly');
  });
});

describe('the robust detector', () => {
  const noisy = (n: number, level = 50) => Array.from({ length: n }, (_, i) => level + Math.sin(i * 1.7) * 2);

  it('reports a spike once per incident, ignores the baseline noise, and is not blinded by earlier spikes', () => {
    const detector = robustDetector({ window: 100, threshold: 6, suppressPoints: 50 });
    const values = [...noisy(150), 90, 95, 92, ...noisy(100), 95, ...noisy(20)];
    const alerts = values.map((v, i) => [i, detector.next(v)] as const).filter(([, v]) => v.kind === 'Anomaly');
    expect(alerts.map(([i]) => i)).toEqual([150, 253]);
    expect(alerts[0]![1]).toMatchObject({ kind: 'Anomaly', severity: 'High', method: 'robust' });
  });

  it('does not take a flat series’ tiny wiggles for anomalies', () => {
    const detector = robustDetector({ window: 50, threshold: 6 });
    const flat = Array.from({ length: 200 }, (_, i) => 100 + (i % 2) * 0.01);
    expect(flat.map((v) => detector.next(v)).filter((v) => v.kind === 'Anomaly')).toHaveLength(0);
  });
});
