/**
 * report.html: one self-contained page per eval run (opens from disk, fetches nothing: chart.js's
 * UMD build and the data are inlined, and a Content-Security-Policy forbids any network request).
 *
 * Sections: headline table (each metric with its counts, bootstrap interval and definition), the
 * pass@k / pass^k curve, the failure-kind breakdown, the thinking-budget curve when the run had
 * budgets, per-family and per-difficulty breakdowns, settings and versions, and the browsable list
 * of failed episodes. Given a second run, every table and chart shows both side by side.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Trajectory } from '../types.js';
import { METRIC_DEFS, type MetricDef, PASS_DEFINITIONS } from './definitions.js';
import { endingShares, type MetricValue, type Summary } from './metrics.js';
import type { EvalRecord } from './record.js';
import { escapeHtml, renderEpisodeList } from './report-episodes.js';

export interface ReportRun {
  record: EvalRecord;
  /** For the failed-episode list (may be empty when only metrics.json is at hand). */
  trajectories: readonly Trajectory[];
  /** Column heading; default the run id. */
  label?: string;
}

// ---------------------------------------------------------------------------------------------
// Pure formatting

export function formatValue(v: number | undefined, kind: 'rate' | 'mean'): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return kind === 'rate' ? `${(v * 100).toFixed(1)}%` : v.toFixed(2);
}

function formatCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function cell(m: MetricValue | undefined, kind: 'rate' | 'mean'): string {
  if (!m) return '<td>—</td><td></td>';
  const ci =
    m.lo !== undefined && m.hi !== undefined && Number.isFinite(m.lo)
      ? ` <span class="ci">[${formatValue(m.lo, kind)}, ${formatValue(m.hi, kind)}]</span>`
      : '';
  return `<td class="num">${formatValue(m.value, kind)}${ci}</td><td class="count">${formatCount(m.num)} / ${formatCount(m.den)}</td>`;
}

function deltaCell(a: MetricValue | undefined, b: MetricValue | undefined, kind: 'rate' | 'mean', higher?: boolean): string {
  if (!a || !b || !Number.isFinite(a.value) || !Number.isFinite(b.value)) return '<td></td>';
  const d = b.value - a.value;
  const cls = higher === undefined || Math.abs(d) < 1e-12 ? '' : d > 0 === higher ? 'better' : 'worse';
  const text = kind === 'rate' ? `${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)} pt` : `${d >= 0 ? '+' : ''}${d.toFixed(2)}`;
  return `<td class="num ${cls}">${text}</td>`;
}

interface Row {
  id: string;
  label: string;
  kind: 'rate' | 'mean';
  definition: string;
  higherIsBetter?: boolean;
  get(s: Summary): MetricValue | undefined;
}

function headlineRows(maxK: number): Row[] {
  const byId = (id: string) => (s: Summary) => s.metrics[id];
  const def = (d: MetricDef): Row => ({
    id: d.id,
    label: d.label,
    kind: d.kind,
    definition: d.definition,
    higherIsBetter: d.higherIsBetter,
    get: byId(d.id),
  });
  const defs = new Map(METRIC_DEFS.map((d) => [d.id, d]));
  const rows: Row[] = [def(defs.get('avgAtK') as MetricDef)];
  const ks = [...new Set([1, maxK])].filter((k) => k >= 1);
  for (const k of ks) {
    rows.push({
      id: `pass@${k}`,
      label: `pass@${k}`,
      kind: 'rate',
      higherIsBetter: true,
      definition: `${PASS_DEFINITIONS.passAt} Counts: sum of task estimates / tasks.`,
      get: (s) => s.passCurve[k - 1]?.passAt,
    });
    rows.push({
      id: `pass^${k}`,
      label: `pass^${k}`,
      kind: 'rate',
      higherIsBetter: true,
      definition: `${PASS_DEFINITIONS.passHat} Counts: sum of task estimates / tasks.`,
      get: (s) => s.passCurve[k - 1]?.passHat,
    });
  }
  for (const d of METRIC_DEFS) if (d.id !== 'avgAtK') rows.push(def(d));
  return rows;
}

function headlineTable(runs: readonly ReportRun[]): string {
  const maxK = Math.max(...runs.map((r) => r.record.metrics.maxK));
  const head =
    runs.map((r) => `<th colspan="2">${escapeHtml(r.label ?? r.record.id)}</th>`).join('') +
    (runs.length === 2 ? '<th>Δ</th>' : '');
  const body = headlineRows(maxK)
    .map((row) => {
      const vals = runs.map((r) => row.get(r.record.metrics.overall));
      const delta = runs.length === 2 ? deltaCell(vals[0], vals[1], row.kind, row.higherIsBetter) : '';
      return `<tr id="metric-${escapeHtml(row.id)}"><th title="${escapeHtml(row.definition)}">${escapeHtml(row.label)}</th>${vals.map((v) => cell(v, row.kind)).join('')}${delta}<td class="def">${escapeHtml(row.definition)}</td></tr>`;
    })
    .join('\n');
  return `<table class="headline"><thead><tr><th>metric</th>${head}<th>definition</th></tr><tr><th></th>${runs.map(() => '<th>value [95% CI]</th><th>counts</th>').join('')}${runs.length === 2 ? '<th></th>' : ''}<th></th></tr></thead><tbody>${body}</tbody></table>`;
}

const BREAKDOWN_COLUMNS: Array<{ label: string; kind: 'rate' | 'mean'; get: (s: Summary) => MetricValue | undefined }> = [
  { label: 'avg@k', kind: 'rate', get: (s) => s.metrics.avgAtK },
  { label: 'pass^k (max k)', kind: 'rate', get: (s) => s.passCurve[s.passCurve.length - 1]?.passHat },
  { label: 'format validity', kind: 'rate', get: (s) => s.metrics.formatValidity },
  { label: 'call validity', kind: 'rate', get: (s) => s.metrics.callValidity },
  { label: 'execution success', kind: 'rate', get: (s) => s.metrics.executionSuccess },
  { label: 'recovery', kind: 'rate', get: (s) => s.metrics.recovery },
  { label: 'mode compliance', kind: 'rate', get: (s) => s.metrics.modeCompliance },
];

function breakdownTables(run: ReportRun, labelled: boolean): string {
  const out: string[] = [];
  for (const [dim, rows] of Object.entries(run.record.metrics.breakdowns)) {
    const head = BREAKDOWN_COLUMNS.map((c) => `<th colspan="2">${escapeHtml(c.label)}</th>`).join('');
    const body = rows
      .map(
        (r) =>
          `<tr><th>${escapeHtml(r.key)}</th><td class="count">${r.summary.units} / ${r.summary.episodes}</td>${BREAKDOWN_COLUMNS.map((c) => cell(c.get(r.summary), c.kind)).join('')}</tr>`,
      )
      .join('');
    out.push(
      `<h3>per ${escapeHtml(dim)}${labelled ? ` — ${escapeHtml(run.label ?? run.record.id)}` : ''}</h3><div class="scroll"><table class="breakdown" data-dim="${escapeHtml(dim)}"><thead><tr><th>${escapeHtml(dim)}</th><th>tasks / episodes</th>${head}</tr></thead><tbody>${body}</tbody></table></div>`,
    );
  }
  return out.join('\n');
}

function failureTable(runs: readonly ReportRun[]): string {
  const kinds = [...new Set(runs.flatMap((r) => Object.keys(r.record.metrics.failureKinds)))].sort();
  if (kinds.length === 0) return '<p class="note">No parse or validation failures.</p>';
  const rows = kinds
    .map(
      (k) =>
        `<tr><th>${escapeHtml(k)}</th>${runs.map((r) => `<td class="num">${r.record.metrics.failureKinds[k] ?? 0}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table class="failures-table"><thead><tr><th>failure kind</th>${runs.map((r) => `<th>${escapeHtml(r.label ?? r.record.id)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}

function schemaTable(runs: readonly ReportRun[]): string {
  const keys = ['missing_required', 'unexpected_parameter', 'wrong_type', 'wrong_value'];
  const rows = keys
    .map(
      (k) =>
        `<tr><th>${escapeHtml(k.replace('_', ' '))}</th>${runs.map((r) => `<td class="num">${r.record.metrics.schemaFailures[k] ?? 0}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table><thead><tr><th>schema failure</th>${runs.map((r) => `<th>${escapeHtml(r.label ?? r.record.id)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}

function settingsTable(runs: readonly ReportRun[]): string {
  const fields: Array<[string, (r: EvalRecord) => unknown]> = [
    ['id', (r) => r.id],
    ['created', (r) => r.createdAt],
    ['env', (r) => `${r.settings.env} ${r.versions.envVersion}`],
    ['policy', (r) => r.settings.policy],
    ['k (trials per task)', (r) => r.settings.k],
    ['split', (r) => r.settings.split],
    ['tasks', (r) => r.settings.tasks],
    ['mode', (r) => r.settings.mode],
    ['thinking budgets', (r) => (r.settings.budgets.length ? r.settings.budgets.join(', ') : 'none')],
    ['seed', (r) => r.settings.seed],
    ['limits', (r) => JSON.stringify(r.settings.limits)],
    ['replayed', (r) => (r.replay ? 'yes (metrics recomputed from stored trajectories)' : 'no')],
    [
      'duration',
      (r) =>
        `${(r.durationMs / 1000).toFixed(2)} s${r.episodesPerSecond ? ` (${r.episodesPerSecond.toFixed(1)} episodes/s)` : ''}`,
    ],
    ['toolgym', (r) => r.versions.toolgym],
    ['node', (r) => `${r.versions.node} (${r.versions.platform})`],
    [
      'packages',
      (r) =>
        Object.entries(r.versions.packages)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
    ],
    ['rerun', (r) => r.rerun],
  ];
  const rows = fields
    .map(
      ([name, get]) =>
        `<tr><th>${escapeHtml(name)}</th>${runs.map((r) => `<td><code>${escapeHtml(get(r.record))}</code></td>`).join('')}</tr>`,
    )
    .join('');
  return `<table class="settings"><tbody>${rows}</tbody></table>`;
}

/** Endings and reasons with their shares of all episodes: what success was computed over, and what was left out. */
function endingsSection(runs: readonly ReportRun[]): string {
  return runs
    .map((r) => {
      const e = r.record.metrics.endings ?? endingShares(r.trajectories);
      const a = e.byEnding.aborted.episodes;
      const plain =
        a > 0
          ? `${a} of ${e.ofAll} episodes were aborted (faults outside the policy's control) and are excluded from success and every other metric; success is over the other ${e.ofAll - a}.`
          : `No episode was aborted: success and every other metric are over all ${e.ofAll} episodes.`;
      const rows = Object.entries(e.byReason)
        .sort((x, y) => y[1].episodes - x[1].episodes || (x[0] < y[0] ? -1 : 1))
        .map(
          ([why, v]) =>
            `<tr><td>${escapeHtml(v.ending)}</td><td><code>${escapeHtml(why)}</code></td><td>${escapeHtml(v.fault ?? '')}</td><td>${v.episodes}</td><td>${formatValue(v.share, 'rate')}</td></tr>`,
        )
        .join('');
      const totals = (['terminated', 'truncated', 'aborted'] as const)
        .map((k) => `${k} ${e.byEnding[k].episodes} (${formatValue(e.byEnding[k].share, 'rate')})`)
        .join(' · ');
      return `<p><b>${escapeHtml(r.label ?? r.record.id)}</b>: ${escapeHtml(totals)}. ${escapeHtml(plain)}</p><table><thead><tr><th>ending</th><th>reason</th><th>fault</th><th>episodes</th><th>share</th></tr></thead><tbody>${rows}</tbody></table>`;
    })
    .join('');
}

function abortedSection(runs: readonly ReportRun[]): string {
  return runs
    .map((r) => {
      const a = r.record.metrics.aborted;
      const reasons = Object.entries(a.reasons)
        .sort((x, y) => y[1] - x[1])
        .map(([why, n]) => `<li>${n} × ${escapeHtml(why)}</li>`)
        .join('');
      return `<p><b>${escapeHtml(r.label ?? r.record.id)}</b>: ${a.episodes} of ${a.ofAll} episodes aborted (${formatValue(a.share, 'rate')}).</p>${reasons ? `<ul>${reasons}</ul>` : ''}`;
    })
    .join('');
}

// ---------------------------------------------------------------------------------------------
// Chart data and page script

interface ChartRun {
  label: string;
  pass: Array<{ k: number; at: number | null; hat: number | null }>;
  failures: Record<string, number>;
  budget: Array<{ budget: number; success: number | null; lo: number | null; hi: number | null; episodes: number }>;
}

function finite(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}

function chartRun(r: ReportRun): ChartRun {
  const m = r.record.metrics;
  return {
    label: r.label ?? r.record.id,
    pass: m.overall.passCurve.map((p) => ({ k: p.k, at: finite(p.passAt.value), hat: finite(p.passHat.value) })),
    failures: m.failureKinds,
    budget: (m.breakdowns.budget ?? [])
      .filter((row) => row.key !== 'none')
      .map((row) => ({
        budget: Number(row.key),
        success: finite(row.summary.metrics.avgAtK?.value),
        lo: finite(row.summary.metrics.avgAtK?.lo),
        hi: finite(row.summary.metrics.avgAtK?.hi),
        episodes: row.summary.episodes,
      })),
  };
}

/** JSON safe inside a `<script>` element: no `<` can close it early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

let chartSource: string | undefined;

/** chart.js's UMD build, read once from node_modules (never fetched). */
export function chartJsSource(): string {
  if (chartSource === undefined) {
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve('chart.js'));
    chartSource = readFileSync(join(dist, 'chart.umd.min.js'), 'utf8').replace(/<\/script/gi, '<\\/script');
  }
  return chartSource;
}

const PAGE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, sans-serif';
  function line(id, datasets, xTitle, yTitle, xType) {
    var el = document.getElementById(id);
    if (!el) return;
    new Chart(el, { type: 'line', data: { datasets: datasets }, options: { responsive: false, parsing: false,
      scales: { x: { type: xType || 'linear', title: { display: true, text: xTitle }, ticks: { precision: 0 } },
                y: { min: 0, max: 1, title: { display: true, text: yTitle } } } } });
  }
  var passSets = [];
  data.runs.forEach(function (r, i) {
    passSets.push({ label: 'pass^k ' + r.label, borderColor: colors[i % 4], backgroundColor: colors[i % 4],
      data: r.pass.map(function (p) { return { x: p.k, y: p.hat }; }) });
    passSets.push({ label: 'pass@k ' + r.label, borderColor: colors[i % 4], backgroundColor: colors[i % 4], borderDash: [6, 4],
      data: r.pass.map(function (p) { return { x: p.k, y: p.at }; }) });
  });
  line('chart-passk', passSets, 'k', 'rate');
  var kinds = {};
  data.runs.forEach(function (r) { Object.keys(r.failures).forEach(function (k) { kinds[k] = true; }); });
  var kindList = Object.keys(kinds).sort();
  var fel = document.getElementById('chart-failures');
  if (fel) new Chart(fel, { type: 'bar', data: { labels: kindList.length ? kindList : ['(none)'],
    datasets: data.runs.map(function (r, i) { return { label: r.label, backgroundColor: colors[i % 4],
      data: kindList.length ? kindList.map(function (k) { return r.failures[k] || 0; }) : [0] }; }) },
    options: { responsive: false, indexAxis: 'y', scales: { x: { beginAtZero: true, title: { display: true, text: 'failures' } } } } });
  var budgetSets = [];
  data.runs.forEach(function (r, i) {
    if (!r.budget.length) return;
    budgetSets.push({ label: 'success ' + r.label, borderColor: colors[i % 4], backgroundColor: colors[i % 4],
      data: r.budget.map(function (b) { return { x: b.budget, y: b.success }; }) });
  });
  // Budgets usually grow geometrically (64, 256, 1024, ...): a log axis spaces them evenly.
  var bs = [];
  data.runs.forEach(function (r) { r.budget.forEach(function (b) { bs.push(b.budget); }); });
  var logX = bs.length > 1 && Math.min.apply(null, bs) > 0 && Math.max.apply(null, bs) / Math.min.apply(null, bs) >= 8;
  if (budgetSets.length) line('chart-budget', budgetSets, 'thinking budget (tokens)' + (logX ? ', log scale' : ''), 'avg@k success', logX ? 'logarithmic' : 'linear');
  var filter = document.getElementById('ep-filter');
  var kind = document.getElementById('ep-kind');
  var count = document.getElementById('ep-count');
  function apply() {
    var q = (filter.value || '').toLowerCase();
    var kv = kind.value;
    var shown = 0;
    document.querySelectorAll('#episodes details').forEach(function (d) {
      var ok = (!q || d.dataset.text.indexOf(q) >= 0) && (!kv || d.dataset.kinds.split(' ').indexOf(kv) >= 0);
      d.style.display = ok ? '' : 'none';
      if (ok) shown++;
    });
    count.textContent = shown + ' shown';
  }
  if (filter && kind) { filter.addEventListener('input', apply); kind.addEventListener('change', apply); apply(); }
})();
`;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { margin-top: 32px; border-bottom: 1px solid #ddd; } h3 { margin-top: 20px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; } td.count { color: #555; white-space: nowrap; } td.def { color: #555; font-size: 12px; max-width: 420px; }
.ci { color: #777; font-size: 12px; } .better { color: #1a7f37; } .worse { color: #c62828; } .note { color: #555; }
pre { background: #f6f8fa; padding: 6px; white-space: pre-wrap; word-break: break-word; margin: 4px 0; max-height: 320px; overflow: auto; }
details.episode { border: 1px solid #ddd; margin: 4px 0; padding: 4px 8px; } details.episode summary { cursor: pointer; }
.turn { border-left: 3px solid #ccd; margin: 6px 0 6px 8px; padding-left: 8px; } .turn-head { color: #555; font-size: 12px; }
.kind { background: #fde7e9; color: #a40e26; padding: 0 4px; border-radius: 3px; font-family: monospace; }
.call-error pre.result { background: #fff4f4; } .filters { margin: 8px 0; } .filters input { width: 320px; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; } .scroll { overflow-x: auto; max-width: 100%; }
`;

// ---------------------------------------------------------------------------------------------
// Page

/** The whole page as one string. `compare` adds a second run beside the first everywhere. */
export function renderReport(main: ReportRun, compare?: ReportRun): string {
  const runs = compare ? [main, compare] : [main];
  const m = main.record;
  const title = compare ? `toolgym eval: ${m.id} vs ${compare.record.id}` : `toolgym eval: ${m.id}`;
  const hasBudget = runs.some((r) => (r.record.metrics.breakdowns.budget ?? []).some((row) => row.key !== 'none'));
  const definitions = [
    ...METRIC_DEFS.map((d) => `<dt>${escapeHtml(d.label)}</dt><dd>${escapeHtml(d.definition)}</dd>`),
    `<dt>pass@k</dt><dd>${escapeHtml(PASS_DEFINITIONS.passAt)}</dd>`,
    `<dt>pass^k</dt><dd>${escapeHtml(PASS_DEFINITIONS.passHat)}</dd>`,
    `<dt>aborted</dt><dd>${escapeHtml(PASS_DEFINITIONS.aborted)}</dd>`,
    `<dt>task unit, intervals</dt><dd>${escapeHtml(PASS_DEFINITIONS.units)} Intervals: ${escapeHtml(String(m.metrics.overall.bootstrapSamples))} resamples, seed ${escapeHtml(String(m.metrics.bootstrap.seed))}, ${escapeHtml(String(m.metrics.bootstrap.confidence * 100))}% percentile.</dd>`,
  ].join('');
  const data = { runs: runs.map(chartRun) };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="note">${runs.map((r) => `${escapeHtml(r.label ?? r.record.id)}: ${escapeHtml(r.record.settings.env)} · policy <code>${escapeHtml(r.record.settings.policy)}</code> · ${r.record.settings.tasks} tasks × k=${r.record.settings.k}${r.record.settings.budgets.length ? ` × ${r.record.settings.budgets.length} budgets` : ''} · mode ${escapeHtml(r.record.settings.mode)} · ${r.record.metrics.overall.episodes} episodes counted${r.record.metrics.aborted.episodes > 0 ? `, ${r.record.metrics.aborted.episodes} aborted and excluded` : ', none aborted'}`).join('<br>')}</p>
<section id="headline"><h2>Headline</h2>${headlineTable(runs)}</section>
<section id="curves"><h2>Consistency over k</h2><p class="note">${escapeHtml(PASS_DEFINITIONS.passHat)} Dashed: pass@k.</p>
<div class="charts"><canvas id="chart-passk" width="640" height="340"></canvas></div></section>
<section id="failure-kinds"><h2>Failure kinds</h2><div class="charts"><canvas id="chart-failures" width="640" height="340"></canvas><div>${failureTable(runs)}${schemaTable(runs)}</div></div></section>
${hasBudget ? `<section id="budget"><h2>Success against thinking budget</h2><p class="note">One point per budget: each task ran k times under each budget.</p><canvas id="chart-budget" width="640" height="340"></canvas></section>` : ''}
<section id="breakdowns"><h2>Breakdowns</h2>${runs.map((r) => breakdownTables(r, runs.length > 1)).join('')}</section>
<section id="endings"><h2>Endings</h2><p class="note">${escapeHtml(PASS_DEFINITIONS.endings)}</p>${endingsSection(runs)}</section>
<section id="aborted"><h2>Aborted episodes</h2><p class="note">${escapeHtml(PASS_DEFINITIONS.aborted)}</p>${abortedSection(runs)}</section>
<section id="settings"><h2>Settings and versions</h2>${settingsTable(runs)}</section>
<section id="definitions"><h2>Definitions</h2><dl>${definitions}</dl></section>
${renderEpisodeList(main.trajectories)}
<script id="report-data" type="application/json">${scriptJson(data)}</script>
<script>${chartJsSource()}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
