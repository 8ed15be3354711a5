// The dashboard page: plain browser JavaScript (no build step). It asks for an API token once, keeps it in
// localStorage, and redraws from the public API every 5 s: tiles, services, alerts (with Acknowledge / Resolve),
// uPlot charts for the chosen range, and links to every job's workflow in the Temporal UI.
'use strict';

const REFRESH_MS = 5000;
const TOKEN_KEY = 'performance-monitoring.token';
const RANGES = { '15m': 15 * 60e3, '1h': 3600e3, '6h': 6 * 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
const CHARTS = [
  { metric: 'cpu_usage_percent', title: 'CPU %' },
  { metric: 'memory_usage_percent', title: 'Memory %' },
  { metric: 'response_time_p95_ms', title: 'Response time p95 (ms)' },
  { metric: 'error_rate_percent', title: 'Error rate %' },
  { metric: 'requests_per_second', title: 'Requests / s' },
];
const PALETTE = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bf8700', '#0a7ea4', '#d1242f', '#6639ba', '#953800', '#116329'];

const state = { token: localStorage.getItem(TOKEN_KEY) || '', charts: new Map(), temporalUi: '', timer: undefined, firstDrawn: false, xFrom: 0, xTo: 1 };
window.__dashboard = { firstDataMs: undefined, refreshes: 0 };

const $ = (id) => document.getElementById(id);

/** el builds an element with text (never HTML) and attributes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child == null ? '' : String(child)));
  return node;
}

const fmt = (v, digits = 1) => (v == null ? '—' : Number(v).toLocaleString(undefined, { maximumFractionDigits: digits }));

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { authorization: `Bearer ${state.token}`, ...(options.body ? { 'content-type': 'application/json' } : {}) } });
  if (response.status === 401) {
    askToken('That token was not accepted.');
    throw new Error('unauthorized');
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.message || `HTTP ${response.status}`), { status: response.status, body });
  return body;
}

function askToken(message) {
  clearTimeout(state.timer);
  $('login-error').textContent = message || '';
  if (!$('login').open) $('login').showModal();
}

function renderTiles(d) {
  const o = d.system_overview || {};
  const b = d.business_metrics || {};
  const tiles = [
    ['Requests / min', fmt(o.total_requests_per_minute, 0)],
    ['Avg response', o.average_response_time_ms == null ? '—' : `${fmt(o.average_response_time_ms)} ms`],
    ['Error rate', o.error_rate_percent == null ? '—' : `${fmt(o.error_rate_percent, 2)} %`],
    ['Active users', fmt(o.active_users, 0)],
    ['Availability (24 h)', o.system_uptime_percent == null ? '—' : `${fmt(o.system_uptime_percent, 2)} %`, o.availability_basis],
    ['Prediction accuracy', b.prediction_accuracy == null ? '—' : `${fmt(b.prediction_accuracy * 100, 1)} %`],
    ['Predictions today', fmt(b.daily_predictions, 0)],
    ['Profitable trades', b.profitable_trades_percent == null ? '—' : `${fmt(b.profitable_trades_percent)} %`],
    ['Active strategies', fmt(b.active_strategies, 0)],
  ];
  // A tile may say what it counts (the availability's basis) below its value.
  $('tiles').replaceChildren(
    ...tiles.map(([label, value, note]) =>
      el('div', { class: 'tile', 'data-tile': label, ...(note ? { title: note } : {}) }, el('div', { class: 'label' }, label), el('div', { class: 'value' }, value), ...(note ? [el('div', { class: 'note' }, note)] : [])),
    ),
  );
}

function renderServices(rows) {
  $('services').tBodies[0].replaceChildren(
    ...rows.map((s) =>
      el(
        'tr',
        { 'data-service': s.service_name },
        el('td', {}, s.service_name),
        el('td', {}, el('span', { class: `badge ${s.status}` }, s.status)),
        el('td', {}, fmt(s.cpu_usage)),
        el('td', {}, fmt(s.memory_usage)),
        el('td', { 'data-field': 'p95' }, fmt(s.response_time_p95)),
        el('td', {}, fmt(s.error_rate, 2)),
        // A service that reports without instances (business KPIs) has none to count.
        el('td', { title: s.instances ? 'healthy / instances' : 'reports without instances' }, s.instances ? `${s.healthy_instances} / ${s.instances}` : '—'),
        el('td', { class: 'why' }, s.reasons.join('; ')),
      ),
    ),
  );
}

async function act(alert, action, button) {
  button.disabled = true;
  try {
    await api(`/api/v1/alerts/${encodeURIComponent(alert.id)}/${action}`, { method: 'POST', body: JSON.stringify({}) });
    await refresh();
  } catch (err) {
    button.disabled = false;
    alertError(err);
  }
}

function alertError(err) {
  $('alert-count').textContent = `— ${err.message}`;
}

function renderAlerts(alerts) {
  $('alert-count').textContent = alerts.length ? `(${alerts.length})` : '(none)';
  $('alerts').tBodies[0].replaceChildren(
    ...alerts.map((a) => {
      const ack = el('button', { type: 'button', 'data-action': 'ack' }, 'Acknowledge');
      const resolve = el('button', { type: 'button', 'data-action': 'resolve' }, 'Resolve');
      ack.addEventListener('click', () => act(a, 'ack', ack));
      resolve.addEventListener('click', () => act(a, 'resolve', resolve));
      if (a.status !== 'firing') ack.disabled = true;
      return el(
        'tr',
        { 'data-alert': a.id },
        el('td', {}, el('span', { class: `badge ${a.severity}` }, a.severity)),
        el('td', {}, a.service),
        el('td', {}, el('a', { href: a.workflow_url, target: '_blank', rel: 'noopener', 'data-testid': 'workflow-link' }, a.message)),
        el('td', {}, `${fmt(a.current_value, 2)} / ${fmt(a.threshold, 2)}`),
        el('td', {}, new Date(a.timestamp).toLocaleTimeString()),
        el('td', { 'data-field': 'state' }, el('span', { class: `badge ${a.status}` }, a.acknowledged_by ? `${a.status} by ${a.acknowledged_by}` : a.status)),
        el('td', {}, ack, ' ', resolve),
      );
    }),
  );
}

function renderJobs(ui) {
  if (state.temporalUi === ui) return;
  state.temporalUi = ui;
  $('temporal').href = `${ui}/workflows`;
  const q = (type) => `${ui}/workflows?query=${encodeURIComponent(`WorkflowType="${type}"`)}`;
  const jobs = [
    ['Schedules (rule evaluation per group, retention, reports)', `${ui}/schedules`],
    ['Rule evaluations', q('evaluateRulesWorkflow')],
    ['Alert lifecycles', q('alertLifecycleWorkflow')],
    ['Notification groups', q('alertGroupWorkflow')],
    ['Silences', q('silenceWorkflow')],
    ['Retention', q('retentionWorkflow')],
  ];
  $('jobs').replaceChildren(...jobs.map(([label, href]) => el('li', {}, el('a', { href, target: '_blank', rel: 'noopener' }, label))));
}

/** chartData aligns every service's points on one time axis (uPlot's columnar data), null where one has none. */
function chartData(series) {
  const times = [...new Set(series.flatMap((s) => s.t))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = series.map((s) => {
    const column = new Array(times.length).fill(null);
    s.t.forEach((t, i) => {
      column[index.get(t)] = s.avg[i];
    });
    return column;
  });
  return [times, ...columns];
}

function drawChart(spec, series) {
  const data = chartData(series);
  const key = `${spec.metric}|${series.map((s) => s.service).join(',')}`;
  let chart = state.charts.get(spec.metric);
  if (chart && chart.key === key) {
    chart.plot.setData(data);
    return;
  }
  let box = document.querySelector(`[data-chart="${spec.metric}"]`);
  if (!box) {
    box = el('div', { class: 'chart', 'data-chart': spec.metric }, el('h3', {}, spec.title));
    $('charts').append(box);
  }
  chart?.plot.destroy();
  const width = Math.max(300, box.clientWidth - 16);
  const plot = new uPlot(
    {
      width,
      height: 220,
      // The x axis spans the chosen range, whatever part of it has data.
      scales: { x: { time: true, range: () => [state.xFrom, state.xTo] } },
      series: [{}, ...series.map((s, i) => ({ label: s.service, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false, points: { size: 4 } }))],
      axes: [{}, { size: 60 }],
      legend: { live: true },
    },
    data,
    box,
  );
  state.charts.set(spec.metric, { key, plot });
}

async function refreshCharts() {
  const rangeMs = RANGES[$('range').value] || RANGES['1h'];
  const metrics = CHARTS.map((c) => c.metric).join(',');
  const answer = await api(`/api/v1/public/monitoring/performance?metric=${metrics}&from=now-${Math.round(rangeMs / 60e3)}m&to=now`);
  state.xFrom = Date.parse(answer.from) / 1000;
  state.xTo = Date.parse(answer.to) / 1000;
  for (const spec of CHARTS) drawChart(spec, answer.series.filter((s) => s.metric === spec.metric));
}

async function refreshReport() {
  try {
    const answer = await api('/api/v1/admin/monitoring/reports?limit=1');
    const latest = (answer.reports || [])[0];
    if (!latest) {
      $('report').textContent = 'No weekly report yet (the first arrives on Monday 08:00 UTC, or POST /api/v1/admin/monitoring/reports).';
      return;
    }
    const r = latest.performance_report;
    const s = r.executive_summary;
    $('report').replaceChildren(
      el('p', {}, el('b', {}, `${r.time_range.start.slice(0, 10)} – ${r.time_range.end.slice(0, 10)}: `), el('span', { class: `badge ${s.overall_performance === 'excellent' || s.overall_performance === 'good' ? 'healthy' : s.overall_performance === 'poor' ? 'critical' : 'warning'}` }, s.overall_performance), ' ',
        `availability ${fmt(s.availability_percent, 2)} % · average response ${fmt(s.average_response_time_ms)} ms · ${fmt(s.total_requests_processed, 0)} requests · business impact ${s.business_impact} · `,
        el('a', { href: latest.workflow_url, target: '_blank', rel: 'noopener' }, 'workflow')),
      el('p', {}, `Trends: response time ${r.trends.response_time_trend}, errors ${r.trends.error_rate_trend}, throughput ${r.trends.throughput_trend}, utilization ${r.trends.resource_utilization_trend}`),
      r.recommendations.length ? el('ul', {}, ...r.recommendations.map((x) => el('li', {}, `[${x.priority}] ${x.description} — ${x.expected_impact}`))) : el('p', {}, 'No recommendations.'),
    );
  } catch (err) {
    $('report').textContent = err.status === 403 ? 'Weekly reports are shown to admin keys.' : `Unavailable: ${err.message}`;
  }
}

/** minutes says a duration in seconds as minutes (or seconds under a minute). */
function minutes(s) {
  if (s === null || s === undefined) return '—';
  return s < 60 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`;
}

async function showTimeline(alertId) {
  const box = $('timeline');
  box.hidden = false;
  box.replaceChildren(el('p', { class: 'muted' }, `Loading the timeline of ${alertId}…`));
  try {
    const t = await api(`/api/v1/alerts/${encodeURIComponent(alertId)}/timeline`);
    box.replaceChildren(
      el('h3', {}, `Timeline of ${t.rule} on ${t.service}`),
      el('p', { 'data-testid': 'why' }, el('b', {}, 'Why: '), t.why),
      el('ol', { class: 'timeline' }, ...t.entries.map((e) => el('li', { 'data-kind': e.kind }, el('span', { class: 'muted' }, `${new Date(e.at).toLocaleTimeString()} `), el('b', {}, e.kind), ` ${e.text}`))),
    );
  } catch (err) {
    box.replaceChildren(el('p', { class: 'error' }, `Timeline unavailable: ${err.message}`));
  }
}

async function refreshHistory() {
  try {
    const h = await api('/api/v1/admin/monitoring/alerts/history?from=now-7d&limit=20');
    const s = h.summary;
    const rules = s.noisiest_rules.slice(0, 3).map((r) => `${r.rule} (${r.alerts})`).join(', ');
    $('history-summary').textContent = s.alerts
      ? `${s.alerts} alerts fired · ${s.acknowledged} acknowledged, MTTA ${minutes(s.mtta_s)} · ${s.resolved} resolved, MTTR ${minutes(s.mttr_s)}${rules ? ` · noisiest: ${rules}` : ''}`
      : 'No alert fired in the last 7 days.';
    $('history').tBodies[0].replaceChildren(
      ...h.alerts.map((a) => {
        const open = el('button', { type: 'button', 'data-action': 'timeline' }, 'Timeline');
        open.addEventListener('click', () => void showTimeline(a.alert_id));
        return el(
          'tr',
          { 'data-alert': a.alert_id },
          el('td', {}, new Date(a.fired_at).toLocaleString()),
          el('td', {}, el('span', { class: `badge ${a.severity}` }, a.severity)),
          el('td', {}, a.service),
          el('td', {}, `${a.rule}${a.instance ? ` (${a.instance})` : ''}`),
          el('td', {}, a.acknowledged_at ? `${a.acknowledged_by} after ${minutes(a.time_to_acknowledge_s)}` : '—'),
          el('td', {}, a.resolved_at ? `after ${minutes(a.time_to_resolve_s)}` : el('span', { class: `badge ${a.status}` }, a.status)),
          el('td', {}, open),
        );
      }),
    );
  } catch (err) {
    $('history-summary').textContent = err.status === 403 ? 'Alert history is shown to admin keys.' : `Unavailable: ${err.message}`;
  }
}

async function refreshOncall() {
  try {
    const { schedules } = await api('/api/v1/admin/monitoring/oncall/schedules');
    if (schedules.length === 0) {
      $('oncall').replaceChildren(el('li', { class: 'muted' }, 'No on-call schedule yet (PUT /api/v1/admin/monitoring/oncall/schedules/{name}).'));
      return;
    }
    $('oncall').replaceChildren(
      ...schedules.map((s) => {
        const now = s.oncall_now;
        const until = now.shift_end ? `until ${new Date(now.shift_end).toLocaleString([], { timeZone: s.time_zone, dateStyle: 'medium', timeStyle: 'short' })} ${s.time_zone}` : 'with no change in the next 35 days';
        return el(
          'li',
          { 'data-schedule': s.name },
          el('b', {}, s.name), ': ',
          now.user ? el('span', {}, `${now.user}`, el('span', { class: 'muted' }, ` (${now.source}) ${until}`)) : el('span', { class: 'badge critical' }, `nobody ${until}`),
        );
      }),
    );
  } catch (err) {
    $('oncall').replaceChildren(el('li', { class: 'muted' }, err.status === 403 ? 'On-call schedules are shown to admin keys.' : `Unavailable: ${err.message}`));
  }
}

async function refreshEvaluations() {
  try {
    const e = await api('/api/v1/admin/monitoring/evaluations?from=now-1h');
    if (e.groups.length === 0) {
      $('evaluations').textContent = 'No rule group is scheduled.';
      return;
    }
    $('evaluations').replaceChildren(
      el('ul', {}, ...e.groups.map((g) => {
        const t = g.ticks;
        const bad = (t.failed || 0) + (t.missed || 0) + (t.skipped || 0);
        return el(
          'li',
          { 'data-group': g.group },
          el('b', {}, g.group), ` every ${g.every_ms / 1000} s: ${t.ok || 0} ran, `,
          el('span', { class: bad ? 'badge warning' : '' }, `${t.failed || 0} failed, ${t.missed || 0} missed, ${t.skipped || 0} skipped`),
          g.problems.length ? el('ul', {}, ...g.problems.slice(0, 3).map((p) => el('li', {}, `${new Date(p.at).toLocaleTimeString()} ${p.outcome}: ${p.why}`))) : '',
        );
      })),
    );
  } catch (err) {
    $('evaluations').textContent = err.status === 403 ? 'Rule evaluation health is shown to admin keys.' : `Unavailable: ${err.message}`;
  }
}

async function refresh() {
  clearTimeout(state.timer);
  try {
    const { dashboard_data: d } = await api('/api/v1/public/monitoring/dashboard');
    $('overall').textContent = d.overall_system_health;
    $('overall').className = `badge ${d.overall_system_health}`;
    renderTiles(d);
    renderServices(d.service_health || []);
    renderAlerts(d.alerts || []);
    renderJobs(d.temporal_ui);
    $('degraded').hidden = d.degraded.length === 0;
    $('degraded').textContent = d.degraded.length ? `Degraded: ${d.degraded.map((s) => (s === 'storage' ? 'metrics storage unavailable (overview figures missing)' : 'realtime cache unavailable (live values missing)')).join('; ')}` : '';
    $('updated').textContent = `updated ${new Date(d.timestamp).toLocaleTimeString()}`;
    if (!state.firstDrawn) {
      state.firstDrawn = true;
      window.__dashboard.firstDataMs = performance.now();
      void refreshReport();
    }
    // The history and the evaluation ticks change slowly: once a minute.
    if (!state.slowAtMs || Date.now() - state.slowAtMs > 60_000) {
      state.slowAtMs = Date.now();
      void refreshHistory();
      void refreshOncall();
      void refreshEvaluations();
    }
    window.__dashboard.refreshes++;
    await refreshCharts().catch((err) => console.warn('charts', err));
  } catch (err) {
    if (err.message === 'unauthorized') return;
    $('degraded').hidden = false;
    $('degraded').textContent = `Could not refresh: ${err.message}`;
  }
  state.timer = setTimeout(refresh, REFRESH_MS);
}

$('login-form').addEventListener('submit', () => {
  state.token = $('token').value.trim();
  localStorage.setItem(TOKEN_KEY, state.token);
  void refresh();
});
$('signout').addEventListener('click', () => {
  localStorage.removeItem(TOKEN_KEY);
  state.token = '';
  askToken();
});
$('range').addEventListener('change', () => void refreshCharts().catch((err) => console.warn('charts', err)));

if (state.token) void refresh();
else askToken();
