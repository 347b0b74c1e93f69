/**
 * `runs/<id>/report.html`: one self-contained page per training run (chart.js inlined as in the
 * evaluator's report, data inlined, a Content-Security-Policy that forbids any request), or several
 * runs compared. Curves over GRPO steps: reward, training success, token entropy, KL to the
 * reference, tokens the entropy control acted on, informative groups, held-out/validation success;
 * SFT loss over SFT steps, and held-out success over SFT steps when an off-policy phase was
 * evaluated; a chart with nothing to draw is left out. With the arms of the learning experiment
 * (`learn.json`, `arms.ts`):
 * validation success of each arm over model compute, the per-split table (pass@1, pass^4, pass@16,
 * call validity, recovery, with bootstrap intervals), and the thinking-control figures and budget curve.
 * A distillation run's on-policy steps are drawn as its RL steps, with the divergence to the teacher;
 * with the arms of the distillation experiment (`distill-arms.json`, `distill-arms.ts`): held-out
 * success of every arm against model FLOPs (student + teacher) on one plot, and their table.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { chartJsSource, scriptJson } from '../../agent/eval/report.js';
import { escapeHtml } from '../../agent/eval/report-episodes.js';
import { ARM_LABELS, type ArmName, type LearnResult, type Rate } from './arms.js';
import { DISTILL_ARM_LABELS, DISTILL_ARM_NAMES, DISTILL_ARMS_FILE, type DistillArmsResult } from './distill-arms.js';
import { evalPoints } from './eval-points.js';
import { SPLIT_DESCRIPTIONS, SPLIT_NAMES } from './splits.js';
import type { RunSummary } from './types.js';

export interface TrainingRun {
  label: string;
  records: Array<Record<string, unknown> & { phase: string; step: number }>;
  summary?: RunSummary;
  learn?: LearnResult;
  distillArms?: DistillArmsResult;
  config?: Record<string, unknown>;
}

/** Whether `dir` is a training run folder (`gym train` output). */
export function isTrainingRun(dir: string): boolean {
  return existsSync(join(dir, 'metrics.jsonl')) && existsSync(join(dir, 'config.json'));
}

/** Reads what the report needs from a run folder (torn lines skipped). */
export function readTrainingRun(dir: string): TrainingRun {
  if (!isTrainingRun(dir))
    throw new Error(
      `${dir} is not a training run folder (no metrics.jsonl and config.json): pass runs/<id> as written by \`gym train\``,
    );
  const records: TrainingRun['records'] = [];
  for (const line of readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line));
    } catch {
      // a torn last line of a killed run: left out
    }
  }
  const json = <T>(f: string): T | undefined => {
    if (!existsSync(join(dir, f))) return undefined;
    try {
      return JSON.parse(readFileSync(join(dir, f), 'utf8')) as T;
    } catch (err) {
      throw new Error(
        `${join(dir, f)} is not valid JSON (${(err as Error).message}): the file is damaged; move it aside to report without it, or rerun what wrote it`,
      );
    }
  };
  return {
    label: basename(resolve(dir)),
    records,
    summary: json<RunSummary>('summary.json'),
    learn: json<LearnResult>('learn.json'),
    distillArms: json<DistillArmsResult>(DISTILL_ARMS_FILE),
    config: json<Record<string, unknown>>('config.json'),
  };
}

const pct = (v: number | null | undefined) =>
  v === undefined || v === null || !Number.isFinite(v) ? '—' : `${(100 * v).toFixed(1)}%`;

function rateCell(r: Rate | undefined): string {
  if (!r || r.value === null || !Number.isFinite(r.value)) return '<td class="num">—</td>';
  const ci =
    r.lo !== undefined && r.lo !== null && r.hi !== undefined && r.hi !== null
      ? ` <span class="ci">[${pct(r.lo)}, ${pct(r.hi)}]</span>`
      : '';
  return `<td class="num">${pct(r.value)}${ci}</td>`;
}

function failureCell(kinds: Record<string, number> | undefined): string {
  if (!kinds) return '—';
  const parts = Object.entries(kinds)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${escapeHtml(k)} ${n}`);
  return parts.length ? parts.join(', ') : 'none';
}

function splitTable(run: TrainingRun): string {
  const L = run.learn;
  if (!L) return '';
  const rows: string[] = [];
  for (const name of SPLIT_NAMES) {
    if (name === 'val') continue;
    for (const a of L.arms) {
      const f = a.splits[name];
      if (!f) continue;
      rows.push(
        `<tr><td title="${escapeHtml(SPLIT_DESCRIPTIONS[name])}">${escapeHtml(name)}</td><td>${escapeHtml(ARM_LABELS[a.arm as ArmName] ?? a.arm)}</td><td class="num">${f.tasks}</td>${rateCell(f.passAt1)}${rateCell(f.passHat4)}${rateCell(f.passAt16)}${rateCell(f.callValidity)}${rateCell(f.recovery)}<td class="num">${f.recovery.opportunities}</td><td>${failureCell(f.failureKinds)}</td></tr>`,
      );
    }
  }
  return `<h3>${escapeHtml(run.label)}: seed ${L.seed}, k=${L.k} episodes per task, ${L.rlTasks} RL tasks, GRPO compute ${L.grpoComputeSeqTokens} sequence tokens</h3>
<div class="scroll"><table class="splits"><tr><th>split</th><th>arm</th><th>tasks</th><th>pass@1</th><th>pass^4</th><th>pass@16</th><th>call validity</th><th>recovery</th><th>recovery chances</th><th>call failures by kind</th></tr>${rows.join('')}</table></div>`;
}

function thinkingTable(run: TrainingRun): string {
  const T = run.learn?.thinking;
  if (!T) return '';
  return `<h3>${escapeHtml(run.label)}</h3><table><tr><th>mode</th><th>compliance</th></tr><tr><td>/think</td>${rateCell(T.compliance.think)}</tr><tr><td>/no_think</td>${rateCell(T.compliance.no_think)}</tr></table>
<table><tr><th>thinking budget</th><th>success</th><th>budget hit</th></tr>${T.budgets.map((b) => `<tr><td class="num">${b.budget}</td>${rateCell(b.success)}<td class="num">${pct(b.budgetHit)}</td></tr>`).join('')}</table>`;
}

const flops = (v: number | null | undefined) =>
  v === undefined || v === null || !Number.isFinite(v) ? '—' : v.toExponential(2).replace('e+', 'e');
const ratio = (v: number | null | undefined) =>
  v === undefined || v === null || !Number.isFinite(v) ? 'never' : `${v.toFixed(3)}×`;

/** "first at X (a)'s compute, and for good from Y" for a first and a sustained reach. */
function reach(first: number | null, sustained: number | null): string {
  if (first === null) return 'it never does';
  return `first at ${ratio(first)} (a)'s compute, and for good ${sustained === null ? 'nowhere' : `from ${ratio(sustained)}`}`;
}

function distillArmsTable(run: TrainingRun): string {
  const D = run.distillArms;
  if (!D) return '';
  const A = D.arms.a.totalFlops;
  const rows = DISTILL_ARM_NAMES.map((k) => {
    const a = D.arms[k];
    const ci = a.successInterval ? ` <span class="ci">[${pct(a.successInterval[0])}, ${pct(a.successInterval[1])}]</span>` : '';
    return `<tr><td>${escapeHtml(DISTILL_ARM_LABELS[k])}</td><td class="num">${pct(a.success)}${ci}</td><td class="num">${pct(a.compliance.think)}</td><td class="num">${pct(a.compliance.no_think)}</td><td class="num">${pct(a.passAtK)}</td><td class="num">${pct(a.ood.mean)}</td><td class="num">${flops(a.studentFlops)}</td><td class="num">${flops(a.teacherFlops)}</td><td class="num">${ratio(a.totalFlops / A)}</td><td class="num">${ratio(a.flopsToReachA === null ? null : a.flopsToReachA / A)}</td></tr>`;
  });
  const c = D.cVsA;
  return `<h3>${escapeHtml(run.label)}: seed ${D.seed}; cold start ${pct(D.coldStart.success)}; teacher ${D.teacher.params} parameters, ${pct(D.teacher.success)}</h3>
<div class="scroll"><table class="distill-arms"><tr><th>arm</th><th>held-out success</th><th>/think compliance</th><th>/no_think compliance</th><th>pass@${D.k}</th><th>out of distribution</th><th>student FLOPs</th><th>teacher FLOPs</th><th>compute, × (a)'s</th><th>first reaches (a)'s success at, × (a)'s compute</th></tr>${rows.join('')}</table></div>
<p class="note">(c) − (a): ${(c.successPoints >= 0 ? '+' : '') + c.successPoints.toFixed(1)} points held-out, ${(c.passAtKPoints >= 0 ? '+' : '') + c.passAtKPoints.toFixed(1)} points pass@${D.k}; (c)'s on-policy curve reaches (a)'s final success ${c.reachesAAtTenth ? 'within' : '<strong>not</strong> within'} a tenth of (a)'s compute (${reach(c.reachRatio, c.sustainedReachRatio)})${c.runReachRatio === undefined ? '' : `; counting its off-policy checkpoints, ${reach(c.runReachRatio, c.runSustainedReachRatio ?? null)}`}.</p>`;
}

function summaryLine(run: TrainingRun): string {
  const s = run.summary;
  if (!s) return `${escapeHtml(run.label)}: unfinished (${run.records.length} records)`;
  const steps = s.distill
    ? `${s.sftSteps} off-policy + ${s.distill.steps} on-policy distillation steps from ${escapeHtml(s.distill.teacher)} (${s.distill.teacherParams} parameters, ${escapeHtml(s.distill.loss)})`
    : `${s.sftSteps} SFT + ${s.grpoSteps} GRPO steps`;
  return `${escapeHtml(run.label)}: ${escapeHtml(s.model)} (${s.params} parameters) on ${escapeHtml(s.env)}, ${steps}, held-out success ${pct(s.before.success)} → ${pct(s.after.success)}, call validity ${pct(s.after.validity)}, ${(s.wallMs.total / 1000).toFixed(0)} s`;
}

type HeldOutPoint = { x: number; y: number; split: string };

/**
 * A run's held-out evaluations (placed by `evalPoints`) as two curves: on the RL step axis (GRPO
 * steps, then on-policy distillation steps), and on the SFT step axis when an SFT phase was evaluated
 * along the way (an off-policy phase; a cold start evaluated only where it ends is no curve). Each
 * is sorted by step: Chart.js reads a line's x range from its first and last points.
 */
function heldOutPoints(run: TrainingRun, grpoSteps: number): { heldOut: HeldOutPoint[]; heldOutSft: HeldOutPoint[] } {
  const points = evalPoints(run.records);
  const byX = (a: HeldOutPoint, b: HeldOutPoint) => a.x - b.x;
  const rl = points
    .filter((p) => p.phase !== 'sft')
    .map((p) => ({ x: p.phase === 'distill' ? grpoSteps + p.step : p.step, y: p.success, split: p.split }));
  const sft = points.filter((p) => p.phase === 'sft').map((p) => ({ x: p.step, y: p.success, split: p.split }));
  return { heldOut: rl.sort(byX), heldOutSft: new Set(sft.map((p) => p.x)).size > 1 ? sft.sort(byX) : [] };
}

/** What the page script draws, per run. */
function chartData(run: TrainingRun) {
  // a distillation run's on-policy steps are its RL steps (after its GRPO steps, when it has both)
  const grpo = run.records.filter((r) => r.phase === 'grpo' || r.phase === 'distill');
  const grpoSteps = grpo.reduce((m, r) => (r.phase === 'grpo' ? Math.max(m, r.step) : m), 0);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const series = (key: string) => grpo.map((r) => ({ x: r.phase === 'distill' ? grpoSteps + r.step : r.step, y: num(r[key]) }));
  const grpoCfg = run.config?.grpo as { beta?: unknown; entropyControl?: unknown } | undefined;
  return {
    label: run.label,
    reward: series('reward'),
    success: series('success'),
    entropy: series('entropy'),
    // not measured: without a reference (grpo.beta 0) the KL is recorded as 0, and without entropy
    // control no token is selected; a run config that says so leaves the chart out
    kl: grpoCfg?.beta === 0 ? [] : series('kl'),
    covSelected: grpoCfg?.entropyControl === 'none' ? [] : series('covSelected'),
    groups: series('groups'),
    divergence: series('divergence'),
    sftLoss: run.records.filter((r) => r.phase === 'sft').map((r) => ({ x: r.step, y: num(r.loss) })),
    ...heldOutPoints(run, grpoSteps),
    arms: (run.learn?.arms ?? [])
      .filter((a) => a.curve.length > 1 || a.arm === 'grpo')
      .map((a) => ({
        arm: ARM_LABELS[a.arm as ArmName] ?? a.arm,
        points: a.curve.map((p) => ({ x: p.computeSeqTokens, y: p.val })),
      })),
    splits: run.learn
      ? {
          names: SPLIT_NAMES.filter((n) => n !== 'val'),
          arms: run.learn.arms.map((a) => ({
            arm: ARM_LABELS[a.arm as ArmName] ?? a.arm,
            passAt1: SPLIT_NAMES.filter((n) => n !== 'val').map((n) => num(a.splits[n]?.passAt1.value)),
          })),
        }
      : null,
    distillArms: run.distillArms
      ? {
          arms: DISTILL_ARM_NAMES.map((k) => ({
            arm: DISTILL_ARM_LABELS[k],
            // a log axis: points at zero compute (an arm's start before anything is paid) are left out
            points: run.distillArms?.arms[k].curve
              .filter((p) => p.totalFlops > 0)
              .map((p) => ({ x: p.totalFlops, y: p.success })),
          })),
          target: run.distillArms.arms.a.success,
          tenth: run.distillArms.arms.a.totalFlops / 10,
        }
      : null,
    budget: (run.learn?.thinking?.budgets ?? []).map((b) => ({
      x: b.budget,
      y: num(b.success.value),
      lo: num(b.success.lo),
      hi: num(b.success.hi),
    })),
  };
}

const PAGE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, sans-serif';
  function line(id, datasets, xTitle, yTitle, yRange, xType, legendFilter) {
    var el = document.getElementById(id);
    if (!el) return;
    // a chart with nothing to draw (a distillation run has no entropy or KL series) is left out
    datasets = datasets.filter(function (d) { return d.data.some(function (p) { return p.y !== null && p.y !== undefined; }); });
    if (!datasets.length) { el.style.display = 'none'; return; }
    var y = { title: { display: true, text: yTitle } };
    if (yRange) { y.min = yRange[0]; if (yRange[1] !== null) y.max = yRange[1]; }
    var x = { type: xType || 'linear', title: { display: true, text: xTitle } };
    // a log axis: 1e9, 2e9, 5e9, ... rather than every digit
    if (xType === 'logarithmic') x.ticks = { autoSkip: false, maxRotation: 0, callback: function (v) {
      var e = Math.floor(Math.log10(v) + 1e-9), m = v / Math.pow(10, e);
      return [1, 2, 5].some(function (k) { return Math.abs(m - k) < 1e-6; }) ? Math.round(m) + 'e' + e : '';
    } };
    var plugins = legendFilter ? { legend: { labels: { filter: legendFilter } } } : {};
    new Chart(el, { type: 'line', data: { datasets: datasets }, options: { responsive: false, parsing: false, spanGaps: true,
      elements: { point: { radius: 1.5 } }, plugins: plugins,
      scales: { x: x, y: y } } });
  }
  function per(key, name) {
    return data.runs.map(function (r, i) { return { label: name + ' ' + r.label, borderColor: colors[i % 6], backgroundColor: colors[i % 6], data: r[key] }; });
  }
  var step = data.rlStep;
  line('chart-reward', per('reward', 'reward'), step, 'mean reward');
  line('chart-success', per('success', 'success'), step, 'training success', [0, 1]);
  line('chart-entropy', per('entropy', 'entropy'), step, 'token entropy (nats)');
  line('chart-kl', per('kl', 'KL'), step, 'KL to the cold start (k3)');
  line('chart-divergence', per('divergence', 'divergence'), 'on-policy distillation step', 'divergence to the teacher (per token)');
  var covTokens = data.runs.some(function (r) { return r.covSelected.length > 0; });
  line('chart-cov', per('covSelected', 'tokens').concat(per('groups', 'groups').map(function (d) { if (covTokens) d.borderDash = [6, 4]; return d; })), step,
    covTokens ? 'entropy-control tokens; informative groups (dashed)' : 'informative groups (rewards not all equal)', covTokens ? null : [0, null]);
  line('chart-sft', per('sftLoss', 'loss'), 'SFT step', 'SFT loss');
  var held = [];
  data.runs.forEach(function (r, i) {
    var splits = {};
    r.heldOut.forEach(function (p) { (splits[p.split] = splits[p.split] || []).push({ x: p.x, y: p.y }); });
    Object.keys(splits).forEach(function (s, j) {
      held.push({ label: s + ' ' + r.label, borderColor: colors[i % 6], backgroundColor: colors[i % 6], borderDash: j ? [6, 4] : [], data: splits[s] });
    });
  });
  line('chart-heldout', held, step, 'held-out success (headline mode)', [0, 1]);
  var heldSft = [];
  data.runs.forEach(function (r, i) {
    if (r.heldOutSft.length) heldSft.push({ label: 'test ' + r.label, borderColor: colors[i % 6], backgroundColor: colors[i % 6], data: r.heldOutSft });
  });
  line('chart-heldout-sft', heldSft, 'SFT step', 'held-out success during SFT (headline mode)', [0, 1]);
  var withArms = data.runs.filter(function (r) { return r.distillArms; });
  var armColors = ['#d62728', '#1f77b4', '#2ca02c'];
  var darms = [];
  withArms.forEach(function (r, i) {
    r.distillArms.arms.forEach(function (a, j) {
      // several runs (seeds): one line per arm and run, the legend naming each arm once
      darms.push({ label: a.arm + (withArms.length > 1 ? ' ' + r.label : ''), borderColor: armColors[j], backgroundColor: armColors[j],
        borderWidth: withArms.length > 1 ? 1 : 2, data: a.points, armLegend: i === 0 });
    });
  });
  if (withArms.length === 1) {
    var d = withArms[0].distillArms;
    var xs = [].concat.apply([], d.arms.map(function (a) { return a.points.map(function (p) { return p.x; }); })).concat([d.tenth]);
    var lo = Math.min.apply(null, xs), hi = Math.max.apply(null, xs);
    darms.push({ label: "(a)'s final success", borderColor: '#777', borderDash: [6, 4], pointRadius: 0, data: [{ x: lo, y: d.target }, { x: hi, y: d.target }] });
    darms.push({ label: "a tenth of (a)'s compute", borderColor: '#000', borderDash: [2, 3], pointRadius: 0, data: [{ x: d.tenth, y: 0 }, { x: d.tenth, y: 1 }] });
  }
  line('chart-distill-arms', darms, 'model FLOPs, student + teacher (log scale)', 'held-out success' + (withArms.length > 1 ? ' (one line per arm and run)' : ''),
    [0, 1], 'logarithmic', function (item, chart) {
      var d = chart.datasets[item.datasetIndex];
      if (withArms.length > 1 && d.armLegend) item.text = withArms[0].distillArms.arms[item.datasetIndex].arm;
      return d.armLegend !== false;
    });
  var arms = [];
  data.runs.forEach(function (r, i) {
    r.arms.forEach(function (a, j) {
      arms.push({ label: a.arm + (data.runs.length > 1 ? ' ' + r.label : ''), borderColor: colors[j % 6], backgroundColor: colors[j % 6],
        borderDash: i ? [6, 4] : [], data: a.points });
    });
  });
  line('chart-arms', arms, 'model compute (training sequence tokens)', 'validation success', [0, 1]);
  var sel = document.getElementById('chart-splits');
  var first = data.runs.filter(function (r) { return r.splits; });
  if (sel && first.length) {
    var s = first[0].splits;
    new Chart(sel, { type: 'bar', data: { labels: s.names, datasets: s.arms.map(function (a, j) {
      return { label: a.arm, backgroundColor: colors[j % 6], data: a.passAt1 }; }) },
      options: { responsive: false, scales: { y: { min: 0, max: 1, title: { display: true, text: 'pass@1' } } } } });
  }
  var budget = [];
  data.runs.forEach(function (r, i) {
    if (!r.budget.length) return;
    budget.push({ label: 'success ' + r.label, borderColor: colors[i % 6], backgroundColor: colors[i % 6], data: r.budget.map(function (b) { return { x: b.x, y: b.y }; }) });
    budget.push({ label: 'interval ' + r.label, borderColor: colors[i % 6], borderDash: [2, 3], pointRadius: 0, fill: false,
      data: r.budget.map(function (b) { return { x: b.x, y: b.lo }; }) });
    budget.push({ label: '', borderColor: colors[i % 6], borderDash: [2, 3], pointRadius: 0, fill: false,
      data: r.budget.map(function (b) { return { x: b.x, y: b.hi }; }) });
  });
  line('chart-budget', budget, 'thinking budget (tokens)', 'success (think mode)', [0, 1]);
})();
`;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1300px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { margin-top: 32px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 8px 8px 0; display: inline-table; vertical-align: top; } th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { text-align: right; white-space: nowrap; } .ci { color: #777; font-size: 12px; } .note { color: #555; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; } .scroll { overflow-x: auto; max-width: 100%; }
`;

/** The whole page for one run, or several compared (each chart overlays them). */
export function renderTrainingReport(runs: readonly TrainingRun[]): string {
  if (runs.length === 0) throw new Error('renderTrainingReport needs at least one run');
  const title = runs.length > 1 ? `toolgym train: ${runs.map((r) => r.label).join(' vs ')}` : `toolgym train: ${runs[0].label}`;
  const learn = runs.some((r) => r.learn);
  const thinking = runs.some((r) => r.learn?.thinking);
  const distilled = runs.some((r) => r.records.some((x) => x.phase === 'distill'));
  const distillArms = runs.some((r) => r.distillArms);
  const rlStep = distilled
    ? runs.some((r) => r.records.some((x) => x.phase === 'grpo'))
      ? 'GRPO or on-policy distillation step'
      : 'on-policy distillation step'
    : 'GRPO step';
  const canvas = (id: string, width = 600, height = 320) => `<canvas id="${id}" width="${width}" height="${height}"></canvas>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="note">${runs.map(summaryLine).join('<br>')}</p>
<section id="training"><h2>Training</h2><div class="charts">${['chart-reward', 'chart-success', 'chart-entropy', 'chart-kl', ...(distilled ? ['chart-divergence'] : []), 'chart-cov', 'chart-heldout', 'chart-sft', 'chart-heldout-sft'].map((id) => canvas(id)).join('')}</div></section>
${distillArms ? `<section id="distill-arms"><h2>Distillation arms against compute</h2><p class="note">Held-out success of each arm from the same student cold start as model FLOPs (student + teacher) grow: (a) GRPO on the student, (b) SFT on the teacher's verified episodes in both modes, (c) (b) then on-policy distillation (its curve starts where (b)'s ends). The teacher's own training is paid once and not counted; held-out evaluations are not counted.</p><div class="charts">${canvas('chart-distill-arms', 960, 480)}</div>${runs.map(distillArmsTable).join('')}</section>` : ''}
${learn ? `<section id="arms"><h2>Arms at equal model compute</h2><p class="note">Validation success of each arm from the same cold start as model compute grows (GRPO: training passes plus one forward per sampled token; SFT arms: their training tokens). The SFT arms are tested at their best validation point, GRPO at its last.</p><div class="charts">${canvas('chart-arms')}${canvas('chart-splits')}</div>${runs.map(splitTable).join('')}</section>` : ''}
${thinking ? `<section id="thinking"><h2>Thinking control</h2><div class="charts">${canvas('chart-budget')}<div>${runs.map(thinkingTable).join('')}</div></div></section>` : ''}
<script id="report-data" type="application/json">${scriptJson({ runs: runs.map(chartData), rlStep })}</script>
<script>${chartJsSource()}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** Writes `<dir>/report.html` (or, with others, a comparison at `out`, default `<dir>/compare.html`). */
export function writeTrainingReport(dir: string, compare: readonly string[] = [], out?: string): string {
  const runs = [dir, ...compare].map(readTrainingRun);
  const path = out ?? join(dir, compare.length ? 'compare.html' : 'report.html');
  writeFileSync(path, renderTrainingReport(runs));
  return path;
}
