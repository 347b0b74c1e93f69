/**
 * Final-answer extraction from free assistant text. Verifiers compare what this returns, so an agent
 * may wrap its answer the usual ways: `<answer>...</answer>`, `\boxed{...}`, a closing
 * "Answer: ..." / "Final answer: ..." line, or just the bare text.
 */

/** Removes `<think>...</think>` blocks (and an unclosed trailing one): thinking is never the answer. */
function stripThinking(text: string): string {
  let out = text.replace(/<think>[\s\S]*?<\/think>/g, '');
  const open = out.indexOf('<think>');
  if (open >= 0) out = out.slice(0, open);
  // A lone `</think>` means the template opened the block: everything before it is thinking.
  const close = out.lastIndexOf('</think>');
  if (close >= 0) out = out.slice(close + '</think>'.length);
  return out;
}

/** Content of the last `\boxed{...}`, braces balanced. */
function lastBoxed(text: string): string | undefined {
  const at = text.lastIndexOf('\\boxed{');
  if (at < 0) return undefined;
  let depth = 0;
  for (let i = at + '\\boxed'.length; i < text.length; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return text.slice(at + '\\boxed{'.length, i);
    }
  }
  return undefined;
}

/**
 * The answer an agent meant, trimmed. Order of preference: the last `<answer>` block, the last
 * `\boxed{}`, the last "(final) answer:" line, else the whole text without thinking.
 */
export function extractAnswer(text: string): string {
  const body = stripThinking(text);
  const tags = [...body.matchAll(/<answer>([\s\S]*?)<\/answer>/gi)];
  if (tags.length > 0) return tags[tags.length - 1][1].trim();
  const boxed = lastBoxed(body);
  if (boxed !== undefined) return boxed.trim();
  const lines = [...body.matchAll(/^\s*(?:\*\*)?(?:final answer|answer)\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*(.+)$/gim)];
  if (lines.length > 0) return lines[lines.length - 1][1].replace(/\*\*$/, '').trim();
  return body.trim();
}
