/**
 * The browsable list of failed episodes in report.html: one `<details>` per episode with its turns
 * (raw text, thinking, failures, calls and results). Everything the policy or a tool wrote is
 * untrusted text and goes through `escapeHtml`.
 */
import type { Trajectory, Turn } from '../types.js';

/** Escapes text for HTML element content and double- or single-quoted attributes. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/** Long tool outputs and generations are cut so one runaway episode cannot bloat the page. */
export function clip(text: string, max = 4000): string {
  return text.length > max ? `${text.slice(0, max)}\n... (${text.length - max} more characters in trajectories.jsonl)` : text;
}

/** An episode is listed as failed when it was not solved or any turn had a failure. */
export function isFailedEpisode(t: Trajectory): boolean {
  return (
    !t.correct ||
    t.ending !== 'terminated' ||
    t.turns.some((turn) => turn.failures.length > 0 || turn.calls.some((c) => c.isError))
  );
}

function renderTurn(turn: Turn): string {
  const parts: string[] = [];
  const badges = [`mode ${turn.mode}`, `finish ${turn.finishReason}`, `${turn.completionTokens} tokens`];
  if (turn.budgetHit) badges.push('budget hit');
  parts.push(`<div class="turn-head">turn ${turn.index} · ${badges.map(escapeHtml).join(' · ')}</div>`);
  parts.push(`<pre class="raw">${escapeHtml(clip(turn.raw))}</pre>`);
  if (turn.failures.length > 0) {
    parts.push(
      `<ul class="failures">${turn.failures
        .map(
          (f) =>
            `<li><span class="kind">${escapeHtml(f.kind)}</span>${f.field ? ` <code>${escapeHtml(f.field)}</code>` : ''}: ${escapeHtml(f.message)}</li>`,
        )
        .join('')}</ul>`,
    );
  }
  for (const c of turn.calls) {
    parts.push(
      `<div class="call${c.isError ? ' call-error' : ''}"><div><b>${escapeHtml(c.name)}</b>${c.isError ? ' <span class="kind">isError</span>' : ''} · ${escapeHtml(c.latencyMs.toFixed(1))} ms</div>` +
        `<pre>${escapeHtml(clip(JSON.stringify(c.arguments, null, 2), 2000))}</pre><pre class="result">${escapeHtml(clip(c.result, 2000))}</pre></div>`,
    );
  }
  if (turn.answer !== undefined)
    parts.push(`<div class="answer">answer: <code>${escapeHtml(clip(turn.answer, 500))}</code></div>`);
  return `<div class="turn">${parts.join('')}</div>`;
}

function episodeKinds(t: Trajectory): string[] {
  const kinds = new Set<string>();
  for (const turn of t.turns) {
    for (const f of turn.failures) kinds.add(f.kind);
    if (turn.calls.some((c) => c.isError)) kinds.add('tool_error');
  }
  if (!t.correct && t.ending === 'terminated') kinds.add('wrong_answer');
  if (t.ending === 'truncated') kinds.add(`truncated_${t.reason}`);
  return [...kinds];
}

/** The failed-episode browser: a filter box and kind selector (page script) over `<details>` rows. */
export function renderEpisodeList(trajectories: readonly Trajectory[], limit = 300): string {
  // Sorted by task, budget and sample so the page does not depend on the order episodes finished in.
  const order = (a: Trajectory, b: Trajectory): number =>
    a.ids.task < b.ids.task
      ? -1
      : a.ids.task > b.ids.task
        ? 1
        : (a.thinkingBudget ?? -1) - (b.thinkingBudget ?? -1) || a.ids.sample - b.ids.sample;
  const failed = trajectories.filter((t) => t.ending !== 'aborted' && isFailedEpisode(t)).sort(order);
  const aborted = trajectories.filter((t) => t.ending === 'aborted');
  const shown = failed.slice(0, limit);
  const allKinds = [...new Set(shown.flatMap(episodeKinds))].sort();
  const rows = shown.map((t) => {
    const kinds = episodeKinds(t);
    const summary = `${escapeHtml(t.ids.task)} #${t.ids.sample}${t.thinkingBudget !== undefined ? ` · budget ${t.thinkingBudget}` : ''} · ${escapeHtml(t.ending)} (${escapeHtml(t.reason)}) · reward ${t.reward.toFixed(2)} · ${t.turns.length} turns · ${kinds.map(escapeHtml).join(', ')}`;
    return `<details class="episode" data-kinds="${escapeHtml(kinds.join(' '))}" data-text="${escapeHtml(`${t.ids.task} ${t.ids.family} ${kinds.join(' ')}`.toLowerCase())}"><summary>${summary}</summary>${t.turns.map(renderTurn).join('')}</details>`;
  });
  const more =
    failed.length > shown.length
      ? `<p class="note">${failed.length - shown.length} more failed episodes are in trajectories.jsonl.</p>`
      : '';
  const abortedRows = aborted
    .slice(0, 50)
    .map((t) => `<li>${escapeHtml(t.ids.task)} #${t.ids.sample}: ${escapeHtml(clip(t.error ?? t.reason, 300))}</li>`)
    .join('');
  return `
<section id="failed">
  <h2>Failed episodes (${failed.length})</h2>
  <p class="note">Episodes not solved, truncated, or with any invalid or failed call. Click one to see its turns.</p>
  <div class="filters"><input id="ep-filter" type="search" placeholder="filter by task, family or kind" aria-label="filter episodes">
  <select id="ep-kind" aria-label="failure kind"><option value="">all kinds</option>${allKinds.map((k) => `<option value="${escapeHtml(k)}">${escapeHtml(k)}</option>`).join('')}</select>
  <span id="ep-count"></span></div>
  <div id="episodes">${rows.join('\n')}</div>
  ${more}
  ${aborted.length > 0 ? `<h3>Aborted episodes (${aborted.length}, excluded from every metric)</h3><ul class="aborted">${abortedRows}</ul>` : ''}
</section>`;
}
