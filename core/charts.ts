/**
 * Charts of the weekly report as SVG (rendered to PNG by activities/report-charts.ts): a line chart of several
 * series over time with labelled axes and a legend, and optionally a shaded band (a forecast's prediction interval)
 * and a horizontal limit line. Pure: numbers in, SVG text out; every label is escaped.
 */

/** ChartSeries is one line: a name for the legend and its points [time ms, value]; null breaks the line. */
export interface ChartSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number | null]>;
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  unit: string;
  series: readonly ChartSeries[];
  /** A shaded band [time ms, lower, upper] (e.g. a forecast's 95 % prediction interval). */
  band?: ReadonlyArray<readonly [number, number, number]>;
  /** A horizontal line with its label (e.g. the resource's limit). */
  limit?: { value: number; label: string };
  width?: number;
  height?: number;
}

const PALETTE = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477', '#66aa00'];
const FONT = 'DejaVu Sans, Arial, sans-serif';

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** niceTicks are round axis values covering [min, max] (1, 2 or 5 × a power of ten apart). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    return niceTicks(min - pad, max + pad, count);
  }
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

const formatValue = (v: number) => (Math.abs(v) >= 10_000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(4))));
const formatDay = (ms: number) => new Date(ms).toISOString().slice(5, 10);

/** lineChartSvg draws a chart as an SVG document. */
export function lineChartSvg(chart: LineChart): string {
  const width = chart.width ?? 640;
  const height = chart.height ?? 260;
  const left = 56;
  const right = 12;
  const top = 30;
  const legendRows = Math.ceil(chart.series.length / 3);
  const bottom = 28 + 16 * legendRows;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const times = [...chart.series.flatMap((s) => s.points.map(([t]) => t)), ...(chart.band ?? []).map(([t]) => t)];
  const values = [
    ...chart.series.flatMap((s) => s.points.flatMap(([, v]) => (v === null || !Number.isFinite(v) ? [] : [v]))),
    ...(chart.band ?? []).flatMap(([, lo, hi]) => [lo, hi]),
    ...(chart.limit ? [chart.limit.value] : []),
  ];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="18" font-size="14" font-weight="bold" fill="#222">${escapeXml(chart.title)}</text>`,
  ];
  if (times.length === 0 || values.length === 0) {
    out.push(`<text x="${width / 2}" y="${height / 2}" font-size="13" fill="#777" text-anchor="middle">no data</text></svg>`);
    return out.join('');
  }
  const t0 = Math.min(...times);
  const t1 = Math.max(...times) === t0 ? t0 + 1 : Math.max(...times);
  const ticks = niceTicks(Math.min(0, ...values), Math.max(...values));
  const v0 = ticks[0]!;
  const v1 = ticks[ticks.length - 1]!;
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v: number) => top + plotH - ((v - v0) / (v1 - v0)) * plotH;
  const px = (n: number) => n.toFixed(1);
  for (const tick of ticks) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${px(y(tick))}" y2="${px(y(tick))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${left - 6}" y="${px(y(tick) + 4)}" font-size="11" fill="#555" text-anchor="end">${escapeXml(formatValue(tick))}</text>`);
  }
  out.push(`<text x="12" y="${px(top + plotH / 2)}" font-size="11" fill="#555" transform="rotate(-90 12 ${px(top + plotH / 2)})" text-anchor="middle">${escapeXml(chart.unit)}</text>`);
  // Day marks on the time axis (at most 8 labels).
  const dayMs = 86_400_000;
  const days = Math.max(1, Math.ceil((t1 - t0) / dayMs / 8));
  for (let t = Math.ceil(t0 / dayMs) * dayMs; t <= t1; t += days * dayMs) {
    out.push(`<line x1="${px(x(t))}" x2="${px(x(t))}" y1="${top}" y2="${top + plotH}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${px(x(t))}" y="${top + plotH + 14}" font-size="11" fill="#555" text-anchor="middle">${formatDay(t)}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  if (chart.band && chart.band.length > 1) {
    const upper = chart.band.map(([t, , hi]) => `${px(x(t))},${px(y(hi))}`);
    const lower = [...chart.band].reverse().map(([t, lo]) => `${px(x(t))},${px(y(lo))}`);
    out.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="#3366cc" fill-opacity="0.15" stroke="none"/>`);
  }
  if (chart.limit) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${px(y(chart.limit.value))}" y2="${px(y(chart.limit.value))}" stroke="#cc0000" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${left + plotW - 4}" y="${px(y(chart.limit.value) - 4)}" font-size="11" fill="#cc0000" text-anchor="end">${escapeXml(chart.limit.label)}</text>`);
  }
  chart.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    // A null value breaks the line into separate runs.
    const runs: string[][] = [[]];
    for (const [t, v] of s.points) {
      if (v === null || !Number.isFinite(v)) runs.push([]);
      else runs[runs.length - 1]!.push(`${px(x(t))},${px(y(v))}`);
    }
    for (const run of runs.filter((r) => r.length > 0)) {
      out.push(
        run.length === 1
          ? `<circle cx="${run[0]!.split(',')[0]}" cy="${run[0]!.split(',')[1]}" r="2" fill="${color}"/>`
          : `<polyline points="${run.join(' ')}" fill="none" stroke="${color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      );
    }
    const lx = left + (i % 3) * (plotW / 3);
    const ly = top + plotH + 30 + 16 * Math.floor(i / 3);
    out.push(`<rect x="${px(lx)}" y="${ly - 9}" width="12" height="3" fill="${color}"/>`);
    out.push(`<text x="${px(lx + 16)}" y="${ly - 4}" font-size="11" fill="#333">${escapeXml(s.name.length > 32 ? `${s.name.slice(0, 31)}…` : s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}
