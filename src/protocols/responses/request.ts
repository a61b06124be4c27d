/**
 * A Responses request as the canonical ChatRequest the pipeline runs: the stored history
 * (previous_response_id) and this turn's items become chat messages, `instructions` a leading
 * system message, function tools chat tools, `text.format` the response_format.
 *
 * What a chat upstream cannot carry is refused with a 400 naming it, never dropped: hosted
 * tools (web_search, file_search, computer_use, code_interpreter, …) and freeform `custom`
 * tools. Reasoning items are not sent (chat has no field for them); `developer` messages are
 * sent as `system`, which every chat upstream knows.
 */
import type { ChatRequest } from '../../protocol/chat.js';
import { errors } from '../../protocol/errors.js';
import type { Item } from './items.js';
import type { CreateResponseBody, Tool, ToolChoice } from './schema.js';

type ChatMessage = Record<string, unknown> & { role: string };

export function toChatRequest(body: CreateResponseBody, history: Item[], items: Item[]): ChatRequest {
  const messages: ChatMessage[] = [];
  // The instructions of earlier responses are not carried over, as at OpenAI: only this request's.
  if (typeof body.instructions === 'string' && body.instructions !== '')
    messages.push({ role: 'system', content: body.instructions });
  for (const item of [...history, ...items]) addItem(messages, item);

  const req: Record<string, unknown> = { model: body.model, messages };
  const tools = (body.tools ?? []).map(chatTool);
  if (tools.length > 0) {
    req.tools = tools;
    if (typeof body.parallel_tool_calls === 'boolean') req.parallel_tool_calls = body.parallel_tool_calls;
  }
  if (body.tool_choice !== undefined) req.tool_choice = chatToolChoice(body.tool_choice);
  if (typeof body.max_output_tokens === 'number') req.max_completion_tokens = body.max_output_tokens;
  if (typeof body.temperature === 'number') req.temperature = body.temperature;
  if (typeof body.top_p === 'number') req.top_p = body.top_p;
  if (typeof body.user === 'string') req.user = body.user;
  const effort = body.reasoning?.effort;
  if (typeof effort === 'string') req.reasoning_effort = effort;
  const format = body.text?.format;
  if (format?.type === 'json_object') req.response_format = { type: 'json_object' };
  if (format?.type === 'json_schema') {
    const json_schema: Record<string, unknown> = { name: format.name ?? 'response' };
    if (format.schema !== undefined) json_schema.schema = format.schema;
    if (typeof format.description === 'string') json_schema.description = format.description;
    if (typeof format.strict === 'boolean') json_schema.strict = format.strict;
    req.response_format = { type: 'json_schema', json_schema };
  }
  if (body.stream === true) {
    req.stream = true;
    // The usage chunk, for the response's usage and the usage record.
    req.stream_options = { include_usage: true };
  }
  return req as ChatRequest;
}

function textOf(item: Extract<Item, { type: 'message' }>): string {
  return item.content
    .map((p) => (p.type === 'input_text' || p.type === 'output_text' ? p.text : p.type === 'refusal' ? p.refusal : ''))
    .join('');
}

function addItem(messages: ChatMessage[], item: Item): void {
  switch (item.type) {
    case 'message': {
      if (item.role === 'assistant') {
        messages.push({ role: 'assistant', content: textOf(item) });
      } else if (item.role === 'user') {
        const onlyText = item.content.every((p) => p.type === 'input_text' || p.type === 'output_text');
        messages.push({
          role: 'user',
          content: onlyText
            ? textOf(item)
            : item.content.map((p) =>
                p.type === 'input_image'
                  ? { type: 'image_url', image_url: { url: p.image_url, detail: p.detail } }
                  : { type: 'text', text: p.type === 'refusal' ? p.refusal : p.text },
              ),
        });
      } else {
        messages.push({ role: 'system', content: textOf(item) });
      }
      break;
    }
    case 'function_call': {
      const call = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } };
      const last = messages.at(-1);
      // Calls that follow an assistant message (its text, or other calls) belong to that turn.
      if (last?.role === 'assistant') {
        last.tool_calls = [...((last.tool_calls as unknown[]) ?? []), call];
        if (last.content === '') last.content = null;
      } else {
        messages.push({ role: 'assistant', content: null, tool_calls: [call] });
      }
      break;
    }
    case 'function_call_output':
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: item.output });
      break;
    case 'reasoning':
      break;
  }
}

function chatTool(tool: Tool, i: number): Record<string, unknown> {
  if (tool.type !== 'function') throw errors.toolNotSupported(tool.type, `tools[${i}].type`);
  const name = tool.name;
  if (typeof name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(name)) {
    throw errors.invalidParameter(
      `Invalid 'tools[${i}].name': a function name must be a-z, A-Z, 0-9, underscores or dashes, at most 64 characters.`,
      name === undefined ? 'missing_required_parameter' : 'invalid_value',
      `tools[${i}].name`,
    );
  }
  const fn: Record<string, unknown> = { name };
  if (typeof tool.description === 'string') fn.description = tool.description;
  if (tool.parameters && typeof tool.parameters === 'object') fn.parameters = tool.parameters;
  if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

function chatToolChoice(choice: ToolChoice): unknown {
  if (typeof choice === 'string') return choice;
  if (choice.type === 'function' && typeof choice.name === 'string')
    return { type: 'function', function: { name: choice.name } };
  if (choice.type === 'function')
    throw errors.invalidParameter(
      "Missing required parameter: 'tool_choice.name'.",
      'missing_required_parameter',
      'tool_choice.name',
    );
  // A hosted tool, a custom tool, allowed_tools, mcp: nothing a chat upstream can be told.
  throw errors.toolNotSupported(choice.type, 'tool_choice.type');
}
