/**
 * The Anthropic Messages API request, as Anthropic's API reference defines it
 * (docs.anthropic.com → API reference → Messages), in one TypeBox declaration: Fastify
 * validates bodies with it, /docs publishes it, and the translation reads its static types.
 *
 * Strict where a mistake would silently change the answer (roles, block types, the
 * tool_choice and thinking variants, ranges), lenient where Anthropic adds fields faster than
 * a gateway can follow: unknown top-level fields (beta parameters sent with `anthropic-beta`)
 * and per-block extras (`cache_control`, `citations`) are accepted and ignored.
 */
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';

/**
 * A union told apart by its `type` (OpenAPI's discriminator, which Ajv understands): a bad
 * block fails on its own fields, or on `type` naming what is allowed, instead of "must match
 * exactly one schema".
 */
function tagged<T extends TObject[]>(variants: [...T]) {
  return Type.Unsafe<Static<T[number]>>({
    type: 'object',
    required: ['type'],
    discriminator: { propertyName: 'type' },
    oneOf: variants,
  });
}

const cacheControl = Type.Optional(Type.Object({ type: Type.Literal('ephemeral') }));

const TextBlock = Type.Object({ type: Type.Literal('text'), text: Type.String(), cache_control: cacheControl });

const ImageSource = tagged([
  Type.Object({
    type: Type.Literal('base64'),
    media_type: Type.Union([
      Type.Literal('image/jpeg'),
      Type.Literal('image/png'),
      Type.Literal('image/gif'),
      Type.Literal('image/webp'),
    ]),
    data: Type.String(),
  }),
  Type.Object({ type: Type.Literal('url'), url: Type.String({ minLength: 1 }) }),
]);

const ImageBlock = Type.Object({ type: Type.Literal('image'), source: ImageSource, cache_control: cacheControl });

const ToolUseBlock = Type.Object({
  type: Type.Literal('tool_use'),
  id: Type.String({ minLength: 1 }),
  name: Type.String({ minLength: 1 }),
  input: Type.Record(Type.String(), Type.Unknown()),
  cache_control: cacheControl,
});

const ToolResultBlock = Type.Object({
  type: Type.Literal('tool_result'),
  tool_use_id: Type.String({ minLength: 1 }),
  content: Type.Optional(Type.Union([Type.String(), Type.Array(tagged([TextBlock, ImageBlock]))])),
  is_error: Type.Optional(Type.Boolean()),
  cache_control: cacheControl,
});

const ThinkingBlock = Type.Object({
  type: Type.Literal('thinking'),
  thinking: Type.String(),
  signature: Type.String(),
});
const RedactedThinkingBlock = Type.Object({ type: Type.Literal('redacted_thinking'), data: Type.String() });

const ContentBlock = tagged([
  TextBlock,
  ImageBlock,
  ToolUseBlock,
  ToolResultBlock,
  ThinkingBlock,
  RedactedThinkingBlock,
]);

const Message = Type.Object({
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
  content: Type.Union([Type.String(), Type.Array(ContentBlock)]),
});

/**
 * A tool: a custom tool (`type` absent or "custom", with `input_schema`), or one of Anthropic's
 * server tools (`web_search_20250305`, `bash_20250124`, …), which only Anthropic can run: those
 * pass validation here so the refusal can name them (request.ts), instead of a schema error.
 */
const Tool = Type.Object({
  type: Type.Optional(Type.String()),
  name: Type.String({ minLength: 1, maxLength: 128 }),
  description: Type.Optional(Type.String()),
  input_schema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  cache_control: cacheControl,
});

const parallel = { disable_parallel_tool_use: Type.Optional(Type.Boolean()) };
const ToolChoice = tagged([
  Type.Object({ type: Type.Literal('auto'), ...parallel }),
  Type.Object({ type: Type.Literal('any'), ...parallel }),
  Type.Object({ type: Type.Literal('tool'), name: Type.String({ minLength: 1 }), ...parallel }),
  Type.Object({ type: Type.Literal('none') }),
]);

const Thinking = tagged([
  Type.Object({ type: Type.Literal('enabled'), budget_tokens: Type.Integer({ minimum: 1024 }) }),
  Type.Object({ type: Type.Literal('disabled') }),
  Type.Object({ type: Type.Literal('adaptive') }),
]);

const System = Type.Union([Type.String(), Type.Array(TextBlock)]);

/** What /v1/messages and /v1/messages/count_tokens share: the prompt. */
const promptFields = {
  model: Type.String({ minLength: 1 }),
  messages: Type.Array(Message, { minItems: 1 }),
  system: Type.Optional(System),
  tools: Type.Optional(Type.Array(Tool)),
  tool_choice: Type.Optional(ToolChoice),
  thinking: Type.Optional(Thinking),
};

export const MessagesRequest = Type.Object(
  {
    ...promptFields,
    max_tokens: Type.Integer({ minimum: 1 }),
    stop_sequences: Type.Optional(Type.Array(Type.String())),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_k: Type.Optional(Type.Integer({ minimum: 0 })),
    metadata: Type.Optional(Type.Object({ user_id: Type.Optional(Type.Union([Type.String(), Type.Null()])) })),
    stream: Type.Optional(Type.Boolean()),
    service_tier: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('standard_only')])),
    /** Newer models' effort setting (low … max): read like `thinking`, as a reasoning effort. */
    output_config: Type.Optional(Type.Object({ effort: Type.Optional(Type.String()) })),
  },
  { $id: 'AnthropicMessagesRequest' },
);

export const CountTokensRequest = Type.Object(promptFields, { $id: 'AnthropicCountTokensRequest' });

export type MessagesRequest = Static<typeof MessagesRequest>;
export type CountTokensRequest = Static<typeof CountTokensRequest>;
export type AnthropicMessage = Static<typeof Message>;
export type AnthropicBlock = Static<typeof ContentBlock>;
export type AnthropicTool = Static<typeof Tool>;
export type AnthropicToolChoice = Static<typeof ToolChoice>;

/** Schemas for /docs only (the response shapes are written by json-writer.ts and stream-writer.ts). */
export const MessageResponseDoc: TSchema = Type.Object({
  id: Type.String({ examples: ['msg_01XFDUDYJgAACzvnptvVoYEL'] }),
  type: Type.Literal('message'),
  role: Type.Literal('assistant'),
  model: Type.String(),
  content: Type.Array(
    Type.Union([
      Type.Object({ type: Type.Literal('text'), text: Type.String() }),
      Type.Object({
        type: Type.Literal('tool_use'),
        id: Type.String(),
        name: Type.String(),
        input: Type.Record(Type.String(), Type.Unknown()),
      }),
    ]),
  ),
  stop_reason: Type.Union([
    Type.Literal('end_turn'),
    Type.Literal('max_tokens'),
    Type.Literal('stop_sequence'),
    Type.Literal('tool_use'),
    Type.Literal('refusal'),
  ]),
  stop_sequence: Type.Null(),
  usage: Type.Object({
    input_tokens: Type.Integer(),
    output_tokens: Type.Integer(),
    cache_read_input_tokens: Type.Optional(Type.Integer()),
  }),
});

export const ErrorResponseDoc: TSchema = Type.Object({
  type: Type.Literal('error'),
  error: Type.Object({ type: Type.String(), message: Type.String() }),
  request_id: Type.Optional(Type.String()),
});
