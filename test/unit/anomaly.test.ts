import { ANOMALY_METHODS, DEFAULT_ANOMALY_METHOD, cusumDetector, kmeans, kmeansDetector, noveltyDetector, noveltyVerdict, robustDetector, seasonalDetector, zScoreDetector, zScoreVerdict, type AnomalyVerdict } from '../../core/anomaly';

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

/** A deterministic noisy day-shaped series of five-minute points: level ± a daily wave ± noise. */
function daily(n: number, level = 50, wave = 10, noise = 1.5): number[] {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: n }, (_, i) => level + wave * Math.sin((2 * Math.PI * (i % 288)) / 288) + (random() - 0.5) * 2 * noise);
}

const anomaliesOf = (detector: ReturnType<typeof noveltyDetector>, values: readonly number[]) =>
  values.flatMap((v, i) => {
    const verdict = detector.next(v);
    return verdict.kind === 'Anomaly' ? [{ i, verdict }] : [];
  });

describe('the novelty detector (the default)', () => {
  it('finds a spike beyond everything seen, explains it, and stays quiet on the daily wave', () => {
    const values = daily(288 * 6);
    values[288 * 4 + 100] = 95;
    const found = anomaliesOf(noveltyDetector(), values);
    expect(found.map((f) => f.i)).toEqual([288 * 4 + 100]);
    // The day's spread includes its wave, so this is Medium (z ≈ 4.5), not High (z > 6).
    expect(found[0]!.verdict).toMatchObject({ kind: 'Anomaly', method: 'novelty', severity: 'Medium', reason: expect.stringContaining('above everything in the last') });
    const v = found[0]!.verdict as Extract<AnomalyVerdict, { kind: 'Anomaly' }>;
    expect(v.expected[1]).toBeLessThan(95);
    expect(v.expected[0]).toBeLessThan(v.expected[1]);
  });

  it('does not call a spike that happens every day news once it has been seen', () => {
    const values = daily(288 * 8);
    for (let d = 1; d < 8; d++) values[288 * d + 50] = 90 + (d % 2); // every day at the same time, up to 91
    const found = anomaliesOf(noveltyDetector(), values);
    // The first two (90 on day 1, 91 on day 2) are new extremes; after that, nothing new.
    expect(found.every((f) => f.i <= 288 * 2 + 50)).toBe(true);
  });

  it('finds a sustained level shift and a flatlined metric', () => {
    const shifted = daily(288 * 4, 50, 0, 1).map((v, i) => (i >= 288 * 3 ? v + 4 : v));
    const levelFound = anomaliesOf(noveltyDetector(), shifted);
    expect(levelFound.length).toBe(1);
    expect(levelFound[0]!.i).toBeGreaterThanOrEqual(288 * 3);
    expect(levelFound[0]!.i).toBeLessThan(288 * 3 + 12);

    const stuck = daily(288 * 3).map((v, i) => (i >= 288 * 2 && i < 288 * 2 + 40 ? 42 : v));
    const stuckFound = anomaliesOf(noveltyDetector(), stuck);
    // Stuck for three hours (36 five-minute points), longer than any run before: a flatlined metric.
    expect(stuckFound.map((f) => f.i)).toEqual([288 * 2 + 35]);
    expect(stuckFound[0]!.verdict).toMatchObject({ reason: expect.stringContaining('unchanged at 42 for 36 points') });
  });

  it('counts its windows in time: an hourly series is judged after a day of hourly points, not 288 of them', () => {
    const hourly = daily(288 * 10).filter((_, i) => i % 12 === 0);
    const times = hourly.map((_, i) => Date.UTC(2026, 0, 1) + i * 3_600_000);
    hourly[24 * 8 + 5] = 95;
    const detector = noveltyDetector();
    const verdicts = hourly.map((v, i) => detector.next(v, times[i]));
    // Judged from the 26th point: a day has passed and 25 gaps have told the interval (an hour).
    expect(verdicts.findIndex((v) => v.kind !== 'InsufficientData')).toBe(25);
    expect(verdicts.flatMap((v, i) => (v.kind === 'Anomaly' ? [i] : []))).toEqual([24 * 8 + 5]);
  });

  it('finds a daily peak that does not come (the value is usual, its time of day is not)', () => {
    // Ten days of a business-hours plateau (80 from 08:00 to 18:00, 20 otherwise); on day 8 it stays at 20.
    let seed = 3;
    const noise = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 2;
    const values = Array.from({ length: 288 * 10 }, (_, i) => {
      const minute = (i % 288) * 5;
      const busy = minute >= 480 && minute < 1080 && Math.floor(i / 288) !== 8;
      return (busy ? 80 : 20) + noise();
    });
    const found = anomaliesOf(noveltyDetector(), values);
    // Only the missing plateau: a point of day 8's business hours, within its first two hours.
    expect(found.length).toBe(1);
    expect(found[0]!.i).toBeGreaterThanOrEqual(288 * 8 + 96);
    expect(found[0]!.i).toBeLessThan(288 * 8 + 120);
    expect(found[0]!.verdict).toMatchObject({ reason: expect.stringContaining('this time of day on the previous days') });
  });

  it('gives the same verdicts on irregular timestamps as on the points they stand for, and trims its memory', () => {
    const values = daily(288 * 40);
    values[288 * 35] = 99;
    const times = values.map((_, i) => Date.UTC(2026, 0, 1) + i * 300_000 + ((i * 7919) % 13) * 1_000); // ±13 s jitter
    const byTime = noveltyDetector();
    const byPoint = noveltyDetector({ stepMs: 300_000 });
    const a = values.map((v, i) => byTime.next(v, times[i]).kind);
    const b = values.map((v) => byPoint.next(v).kind);
    expect(a.slice(300)).toEqual(b.slice(300));
    expect(a.flatMap((k, i) => (k === 'Anomaly' ? [i] : []))).toContain(288 * 35);
  });

  it('judges the newest point alone the same way (the scheduled scan)', () => {
    const values = daily(288 * 3);
    expect(noveltyVerdict(values.slice(0, 100))).toEqual({ kind: 'InsufficientData' });
    expect(noveltyVerdict(values)).toMatchObject({ kind: 'Normal' });
    expect(noveltyVerdict([...values, 99])).toMatchObject({ kind: 'Anomaly', method: 'novelty' });
    expect(noveltyVerdict([...values, 1])).toMatchObject({ kind: 'Anomaly', score: expect.any(Number) });
    expect((noveltyVerdict([...values, 1]) as { score: number }).score).toBeLessThan(0);
  });
});

describe('the seasonal, CUSUM and k-means detectors', () => {
  it('seasonal: a value usual at noon is news at midnight', () => {
    const values = daily(288 * 5, 50, 30, 1);
    const at = 288 * 4 + 216; // the wave's trough (≈ 20)
    values[at] = 78; // usual at the crest, not at the trough
    const detector = seasonalDetector();
    const found = values.flatMap((v, i) => (detector.next(v).kind === 'Anomaly' ? [i] : []));
    expect(found).toEqual([at]);
    // The same value at the crest is normal.
    const crest = daily(288 * 5, 50, 30, 1);
    crest[288 * 4 + 72] = 78;
    const quiet = seasonalDetector();
    expect(crest.filter((v) => quiet.next(v).kind === 'Anomaly')).toHaveLength(0);
  });

  it('cusum: a slow drift that no single point gives away', () => {
    const values = daily(288 * 3, 50, 0, 1).map((v, i) => (i > 288 * 2 ? v + (i - 288 * 2) * 0.02 : v));
    const detector = cusumDetector();
    const found = values.flatMap((v, i) => {
      const verdict = detector.next(v);
      return verdict.kind === 'Anomaly' ? [{ i, verdict }] : [];
    });
    expect(found.length).toBeGreaterThanOrEqual(1);
    expect(found[0]!.i).toBeGreaterThan(288 * 2);
    expect(found[0]!.verdict).toMatchObject({ method: 'cusum', reason: expect.stringContaining('sustained shift up') });
    // The drift is 2 noise amplitudes after ~100 points: no single point is 4 spreads out when it is found.
    expect(Math.abs(values[found[0]!.i]! - 50)).toBeLessThan(4);
  });

  it('kmeans: learns the usual shape of the changes and flags a new one', () => {
    const values = Array.from({ length: 288 * 9 }, (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 36));
    for (let i = 288 * 8; i < 288 * 8 + 6; i++) values[i] = values[i]! + (i % 2 ? 15 : -15); // a zigzag never seen
    const detector = kmeansDetector();
    const found = values.flatMap((v, i) => (detector.next(v).kind === 'Anomaly' ? [i] : []));
    expect(found).toHaveLength(1);
    expect(found[0]).toBeGreaterThanOrEqual(288 * 8);
    expect(found[0]).toBeLessThan(288 * 8 + 8);
  });

  it('k-means clusters two clear groups', () => {
    const centroids = kmeans([[0, 0], [0, 1], [1, 0], [10, 10], [10, 11], [11, 10]], 2).sort((a, b) => a[0]! - b[0]!);
    expect(centroids[0]![0]).toBeCloseTo(1 / 3);
    expect(centroids[1]![0]).toBeCloseTo(31 / 3);
  });

  it('every method is registered with the default first among equals', () => {
    expect(Object.keys(ANOMALY_METHODS).sort()).toEqual(['cusum', 'kmeans', 'novelty', 'robust', 'seasonal', 'zscore']);
    expect(DEFAULT_ANOMALY_METHOD).toBe('novelty');
    expect(ANOMALY_METHODS[DEFAULT_ANOMALY_METHOD]!().method).toBe('novelty');
  });
});
