/**
 * An OpenAI chat request as Gemini's generateContent body:
 * - system and developer messages, wherever they are, become systemInstruction parts in order;
 * - user/assistant become user/model turns, consecutive turns of one role merged into one
 *   (Gemini wants them alternating), empty turns left out (Gemini refuses them);
 * - assistant tool_calls become functionCall parts (with their thought signature restored),
 *   tool messages functionResponse parts named after the call they answer;
 * - images become inlineData (./images.ts); tools, tool_choice, stop, max tokens, sampling and
 *   response_format map to their Gemini fields. What Gemini cannot do is a 400 naming the field.
 * `user`, `parallel_tool_calls`, `logprobs` and `top_logprobs` have no Gemini equivalent and
 * are left out, as the README says.
 */
import { type ChatRequest, maxTokensOf, stopSequencesOf } from '../../protocol/chat.js';
import { errors } from '../../protocol/errors.js';
import type { ImageFetcher } from './images.js';
import { SKIP_VALIDATOR, signatureOf } from './thought-signature.js';
import type { GeminiContent, GeminiFunctionDeclaration, GeminiPart, GeminiRequest } from './wire.js';

interface ToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

interface Message {
  role: string;
  content?: unknown;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  function_call?: { name?: string; arguments?: string };
}

interface ContentPart {
  type?: string;
  text?: string;
  refusal?: string;
  image_url?: { url?: string };
  input_audio?: { data?: string; format?: string };
}

export interface MappingContext {
  provider: string;
  upstreamModel: string;
  images: ImageFetcher;
  signal: AbortSignal;
}

export async function toGeminiRequest(req: ChatRequest, outer: MappingContext): Promise<GeminiRequest> {
  // Once the request is refused, the images still being fetched for it are not needed.
  const refused = new AbortController();
  try {
    return await mapRequest(req, { ...outer, signal: AbortSignal.any([outer.signal, refused.signal]) });
  } catch (err) {
    refused.abort();
    throw err;
  }
}

async function mapRequest(req: ChatRequest, ctx: MappingContext): Promise<GeminiRequest> {
  if (typeof req.n === 'number' && req.n > 1) {
    throw errors.unsupportedByProvider(ctx.provider, 'n', `it asks for ${req.n} choices`);
  }
  const messages = req.messages as unknown as Message[];
  const system: { text: string }[] = [];
  const turns: GeminiContent[] = [];
  /** Every tool call the assistant made so far, by id: a tool message's function name comes from here. */
  const callNames = new Map<string, string>();
  const pending: Promise<unknown>[] = [];

  const push = (role: 'user' | 'model', parts: GeminiPart[]) => {
    if (parts.length === 0) return;
    const last = turns.at(-1);
    if (last && last.role === role) last.parts.push(...parts);
    else turns.push({ role, parts });
  };

  messages.forEach((m, i) => {
    const at = `messages.[${i}]`;
    switch (m.role) {
      case 'system':
      case 'developer':
        for (const text of textsOf(m.content)) if (text) system.push({ text });
        break;
      case 'user':
        push('user', userParts(m.content, at, ctx, pending));
        break;
      case 'assistant':
        push('model', assistantParts(m, at, ctx, callNames));
        break;
      case 'tool': {
        const name = m.tool_call_id === undefined ? undefined : callNames.get(m.tool_call_id);
        if (!name) {
          throw errors.invalidParameter(
            `Invalid '${at}.tool_call_id': no earlier assistant message has a tool call with the id '${String(m.tool_call_id).slice(0, 256)}', so Parley cannot tell Gemini which function this result belongs to.`,
            'invalid_value',
            `${at}.tool_call_id`,
          );
        }
        push('user', [{ functionResponse: { name, response: responseObject(m.content) } }]);
        break;
      }
      case 'function':
        push('user', [{ functionResponse: { name: m.name ?? '', response: responseObject(m.content) } }]);
        break;
    }
  });
  await Promise.all(pending);

  if (turns.length === 0) {
    throw errors.unsupportedByProvider(
      ctx.provider,
      'messages',
      'it has no user or assistant message, only system instructions',
    );
  }
  const body: GeminiRequest = { contents: turns };
  if (system.length > 0) body.systemInstruction = { parts: system };
  mapTools(req, body, ctx);
  const generation = generationConfig(req, ctx.upstreamModel);
  if (generation) body.generationConfig = generation;
  return body;
}

/** The text of a message's content: a string, or its text parts. */
function textsOf(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  return (content as ContentPart[]).flatMap((p) =>
    p.type === 'text' && typeof p.text === 'string' ? [p.text] : p.type === 'refusal' && p.refusal ? [p.refusal] : [],
  );
}

/** A user message's parts; images are filled in when their bytes arrive (`pending`), in place. */
function userParts(content: unknown, at: string, ctx: MappingContext, pending: Promise<unknown>[]): GeminiPart[] {
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  if (!Array.isArray(content)) return [];
  const parts: GeminiPart[] = [];
  (content as ContentPart[]).forEach((p, j) => {
    const param = `${at}.content.[${j}]`;
    if (p.type === 'text') {
      if (p.text) parts.push({ text: p.text });
    } else if (p.type === 'image_url') {
      const part: GeminiPart = {};
      parts.push(part);
      const fetched = ctx.images.inlineData(p.image_url?.url ?? '', `${param}.image_url.url`, ctx.signal).then((d) => {
        part.inlineData = d;
      });
      // Awaited below, unless a later message is refused first: then nobody would, and its
      // failure must not become an unhandled rejection (which ends the process).
      fetched.catch(() => {});
      pending.push(fetched);
    } else if (p.type === 'input_audio') {
      const mimeType = p.input_audio?.format === 'mp3' ? 'audio/mp3' : 'audio/wav';
      parts.push({ inlineData: { mimeType, data: p.input_audio?.data ?? '' } });
    } else {
      throw errors.unsupportedByProvider(ctx.provider, `${param}.type`, `it is a '${String(p.type)}' part`);
    }
  });
  return parts;
}

function assistantParts(m: Message, at: string, ctx: MappingContext, callNames: Map<string, string>): GeminiPart[] {
  // Never an empty text part: Gemini refuses a part with no data.
  const parts: GeminiPart[] = textsOf(m.content)
    .filter((t) => t !== '')
    .map((text) => ({ text }));
  let first = true;
  const call = (name: string, args: string | undefined, param: string, signature: string | undefined) => {
    const part: GeminiPart = { functionCall: { name, args: parseArguments(args, param) } };
    // Gemini checks the signature of the first call of a turn; one the client did not send
    // back (a history from another model) gets the validator skip Google documents.
    const sig = signature ?? (first && needsSignatures(ctx.upstreamModel) ? SKIP_VALIDATOR : undefined);
    if (sig) part.thoughtSignature = sig;
    first = false;
    parts.push(part);
  };
  (m.tool_calls ?? []).forEach((tc, j) => {
    const param = `${at}.tool_calls.[${j}]`;
    if (tc.type !== 'function' || !tc.function?.name) {
      throw errors.unsupportedByProvider(ctx.provider, `${param}.type`, `it is a '${String(tc.type)}' tool call`);
    }
    if (tc.id) callNames.set(tc.id, tc.function.name);
    call(tc.function.name, tc.function.arguments, `${param}.function.arguments`, signatureOf(tc));
  });
  if (m.function_call?.name)
    call(m.function_call.name, m.function_call.arguments, `${at}.function_call.arguments`, undefined);
  return parts;
}

/**
 * reasoning_effort as Gemini's thinking control, as Google's own OpenAI-compatible endpoint
 * maps it: Gemini 2.x takes a token budget (low 1K, medium 8K, high 24K; none turns thinking
 * off), Gemini 3 and later a level (minimal, low, medium, high; which ones a model takes varies,
 * and Gemini's 400 says so).
 */
function thinkingFor(effort: string, model: string): { thinkingBudget?: number; thinkingLevel?: string } {
  if (!needsSignatures(model)) {
    const budgets: Record<string, number> = { none: 0, minimal: 1024, low: 1024, medium: 8192 };
    return { thinkingBudget: budgets[effort] ?? 24_576 };
  }
  const levels: Record<string, string> = { none: 'minimal', minimal: 'minimal', low: 'low', medium: 'medium' };
  return { thinkingLevel: levels[effort] ?? 'high' };
}

/**
 * Gemini 1.x and 2.x do not require signatures; anything else (gemini-3…, names Parley cannot
 * date such as gemini-flash-latest) gets the skip rather than a 400.
 */
function needsSignatures(model: string): boolean {
  return !/^(models\/)?gemini-[12][.-]/.test(model);
}

/** A call's arguments as the object Gemini's functionCall.args is. */
function parseArguments(args: string | undefined, param: string): Record<string, unknown> {
  if (args === undefined || args.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw errors.invalidParameter(`Invalid '${param}': it is not valid JSON.`, 'invalid_value', param);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw errors.invalidParameter(`Invalid '${param}': it must be a JSON object.`, 'invalid_value', param);
  }
  return parsed as Record<string, unknown>;
}

/**
 * A tool result as functionResponse.response, which must be an object: a JSON object stays
 * as it is; anything else (a JSON value, plain text) is wrapped as `{ result: … }`.
 */
function responseObject(content: unknown): Record<string, unknown> {
  const text = textsOf(content).join('');
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    /* plain text */
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : { result: value };
}

function mapTools(req: ChatRequest, body: GeminiRequest, ctx: MappingContext): void {
  const tools = (req.tools ?? []) as {
    type?: string;
    function?: { name: string; description?: string; parameters?: unknown };
  }[];
  if (tools.length === 0) return;
  const declarations: GeminiFunctionDeclaration[] = tools.map((t, i) => {
    if (t.type !== 'function' || !t.function) {
      throw errors.unsupportedByProvider(ctx.provider, `tools.[${i}].type`, `it is a '${String(t.type)}' tool`);
    }
    const d: GeminiFunctionDeclaration = { name: t.function.name };
    if (t.function.description) d.description = t.function.description;
    // Gemini's parametersJsonSchema takes JSON Schema as written (additionalProperties, $defs…),
    // unlike the older `parameters` field's OpenAPI subset: nothing needs stripping.
    if (t.function.parameters !== undefined) d.parametersJsonSchema = t.function.parameters;
    return d;
  });
  body.tools = [{ functionDeclarations: declarations }];
  const choice = req.tool_choice as
    | string
    | {
        type?: string;
        function?: { name?: string };
        allowed_tools?: { mode?: string; tools?: { function?: { name?: string } }[] };
      }
    | undefined;
  if (choice === undefined) return;
  if (choice === 'auto') body.toolConfig = { functionCallingConfig: { mode: 'AUTO' } };
  else if (choice === 'none') body.toolConfig = { functionCallingConfig: { mode: 'NONE' } };
  else if (choice === 'required') body.toolConfig = { functionCallingConfig: { mode: 'ANY' } };
  else if (typeof choice === 'object' && choice.type === 'function' && choice.function?.name) {
    body.toolConfig = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
  } else if (typeof choice === 'object' && choice.type === 'allowed_tools') {
    // Gemini takes allowedFunctionNames only with mode ANY; leaving the other declarations out
    // restricts the model the same way in either mode.
    const names = new Set(
      (choice.allowed_tools?.tools ?? []).flatMap((t) => (t.function?.name ? [t.function.name] : [])),
    );
    body.tools = [{ functionDeclarations: declarations.filter((d) => names.has(d.name)) }];
    body.toolConfig = { functionCallingConfig: { mode: choice.allowed_tools?.mode === 'required' ? 'ANY' : 'AUTO' } };
  } else {
    throw errors.unsupportedByProvider(ctx.provider, 'tool_choice', 'it names a custom tool');
  }
}

function generationConfig(req: ChatRequest, model: string): GeminiRequest['generationConfig'] {
  const g: NonNullable<GeminiRequest['generationConfig']> = {};
  const effort = typeof req.reasoning_effort === 'string' ? req.reasoning_effort : undefined;
  if (effort) g.thinkingConfig = thinkingFor(effort, model);
  const stop = stopSequencesOf(req);
  if (stop.length > 0) g.stopSequences = stop;
  const max = maxTokensOf(req);
  if (max !== undefined) g.maxOutputTokens = max;
  // OpenAI's temperature range (0..2, enforced by the request schema) is Gemini's: it passes as is.
  if (typeof req.temperature === 'number') g.temperature = req.temperature;
  if (typeof req.top_p === 'number') g.topP = req.top_p;
  if (typeof req.seed === 'number') g.seed = req.seed;
  if (typeof req.presence_penalty === 'number') g.presencePenalty = req.presence_penalty;
  if (typeof req.frequency_penalty === 'number') g.frequencyPenalty = req.frequency_penalty;
  const format = req.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  if (format?.type === 'json_object') g.responseMimeType = 'application/json';
  else if (format?.type === 'json_schema') {
    g.responseMimeType = 'application/json';
    if (format.json_schema?.schema !== undefined) g.responseJsonSchema = format.json_schema.schema;
  }
  return Object.keys(g).length > 0 ? g : undefined;
}
