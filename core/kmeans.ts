/** k-means clustering (the learned pattern method of core/anomaly.ts). Pure. */

/** kmeans clusters vectors (k-means++ seeded deterministically, Lloyd's iterations); returns the centroids. */
export function kmeans(vectors: readonly number[][], k: number, iterations = 20): number[][] {
  const dist = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, j) => s + (v - b[j]!) ** 2, 0);
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const centroids: number[][] = [vectors[Math.floor(random() * vectors.length)]!.slice()];
  while (centroids.length < k) {
    const d = vectors.map((v) => Math.min(...centroids.map((c) => dist(v, c))));
    const total = d.reduce((a, b) => a + b, 0);
    let pick = random() * total;
    let at = 0;
    while (at < d.length - 1 && (pick -= d[at]!) > 0) at++;
    centroids.push(vectors[at]!.slice());
  }
  for (let it = 0; it < iterations; it++) {
    const sums = centroids.map((c) => c.map(() => 0));
    const counts = centroids.map(() => 0);
    for (const v of vectors) {
      let best = 0;
      for (let c = 1; c < k; c++) if (dist(v, centroids[c]!) < dist(v, centroids[best]!)) best = c;
      counts[best]!++;
      v.forEach((x, j) => (sums[best]![j]! += x));
    }
    centroids.forEach((c, ci) => counts[ci]! > 0 && c.forEach((_, j) => (c[j] = sums[ci]![j]! / counts[ci]!)));
  }
  return centroids;
}
