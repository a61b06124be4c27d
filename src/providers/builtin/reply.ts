/**
 * What the built-in offline model says: a short, deterministic reply that states plainly
 * it is Parley's offline model and describes what it received. It is not an LLM.
 */
import type { ChatRequest } from '../../protocol/chat.js';

/** Word-level tokens with their leading whitespace: "Hello world" → ["Hello", " world"]. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) =>
        p && typeof p === 'object' && (p as { type?: unknown }).type === 'text'
          ? String((p as { text?: unknown }).text ?? '')
          : '',
      )
      .filter(Boolean)
      .join(' ');
  }
  return '';
}

/** Rough prompt size: the word tokens of every message's text. */
export function promptTokens(req: ChatRequest): number {
  let n = 0;
  for (const m of req.messages) n += tokenize(textOf((m as { content?: unknown }).content)).length + 1;
  return n;
}

/**
 * Why the offline model answered and what would bring a real model instead. With no
 * PARLEY_CONFIG, nothing is configured: an upstream is the fix. With one, the config routed
 * this name here (an alias to `builtin`, or no `default` alias): the config is the fix.
 */
function routing(req: ChatRequest, configured: boolean): [why: string, fix: string] {
  if (!configured)
    return [
      'no upstream provider is configured, so this reply is generated locally.',
      'Set OPENAI_API_KEY or PARLEY_CONFIG to route requests to a real model.',
    ];
  const name = `"${req.model.length > 100 ? `${req.model.slice(0, 100)}…` : req.model}"`;
  return [
    `the model name ${name} is routed to it, so this reply is generated locally.`,
    `To answer with a real model, route ${name} to an upstream provider in PARLEY_CONFIG.`,
  ];
}

export function replyText(req: ChatRequest, configured = false): string {
  const messages = req.messages;
  const last = [...messages].reverse().find((m) => m.role === 'user');
  const said = last ? textOf(last.content).replace(/\s+/g, ' ').trim() : '';
  const quoted = said.length > 200 ? `${said.slice(0, 200)}…` : said;
  const [why, fix] = routing(req, configured);
  const parts = [
    `This is Parley's built-in offline model, not an LLM: ${why}`,
    `I received ${messages.length} message${messages.length === 1 ? '' : 's'}`,
  ];
  parts[1] += quoted ? `; the last user message was: "${quoted}".` : '.';
  if (req.tools?.length) parts.push(`${req.tools.length} tool${req.tools.length === 1 ? ' was' : 's were'} offered.`);
  parts.push(fix);
  return parts.join(' ');
}
