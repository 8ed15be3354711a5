/**
 * The weekly report's charts: the data gathered by the report activities (reportCharts in activities/report.ts)
 * drawn as SVG (core/charts.ts) and rendered to PNG with resvg (system fonts; DejaVu Sans is installed by the
 * setup scripts) — latency, error rate and throughput per service over the week, and the capacity forecast most
 * in need of attention with its 95 % band and limit.
 */
import { Resvg } from '@resvg/resvg-js';
import { lineChartSvg, type LineChart } from '../core/charts';

/** ReportChartData is what the charts are drawn from (small: hourly points; it travels in workflow payloads). */
export interface ReportChartData {
  /** Per metric, each service's hourly points over the week. */
  metrics: Array<{ key: string; title: string; unit: string; series: Array<{ name: string; points: Array<[number, number]> }> }>;
  capacity: {
    service: string;
    resource: string;
    unit: string;
    history: Array<[number, number]>;
    atMs: number;
    predicted: number;
    interval: [number, number];
    limit: number | null;
  } | null;
}

/** ReportChart is one rendered chart. */
export interface ReportChart {
  name: string;
  title: string;
  png: Buffer;
}

/** chartDefinitions turns the data into the charts to draw. */
export function chartDefinitions(data: ReportChartData): Array<{ name: string; chart: LineChart }> {
  const out: Array<{ name: string; chart: LineChart }> = data.metrics.map((m) => ({ name: m.key, chart: { title: m.title, unit: m.unit, series: m.series } }));
  const c = data.capacity;
  if (c) {
    const last = c.history[c.history.length - 1];
    const forecast = last ? [last, [c.atMs, c.predicted] as [number, number]] : [];
    out.push({
      name: 'capacity',
      chart: {
        title: `Capacity forecast: ${c.service} ${c.resource} (95 % band)`,
        unit: c.unit,
        series: [
          { name: 'hourly average', points: c.history },
          { name: 'forecast', points: forecast, dashed: true },
        ],
        // The band widens from the last measured point to the forecast's 95 % interval at the horizon.
        ...(last ? { band: [[last[0], last[1], last[1]] as const, [c.atMs, c.interval[0], c.interval[1]] as const] } : {}),
        ...(c.limit !== null ? { limit: { value: c.limit, label: `limit ${c.limit}${c.unit === '%' ? ' %' : ''}` } } : {}),
      } as LineChart,
    });
  }
  return out;
}

/** renderPng renders an SVG document to PNG bytes. */
export function renderPng(svg: string): Buffer {
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: '#ffffff' }).render().asPng();
}

/** renderReportCharts draws every chart of the data as PNG. */
export function renderReportCharts(data: ReportChartData): ReportChart[] {
  return chartDefinitions(data).map(({ name, chart }) => ({ name, title: chart.title, png: renderPng(lineChartSvg(chart)) }));
}
