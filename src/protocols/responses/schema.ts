/**
 * The request body of POST /v1/responses, as Parley validates it: one TypeBox declaration is
 * both the JSON Schema Fastify checks (errors in OpenAI's envelope, naming the field) and the
 * TypeScript type the translation reads.
 *
 * Written from OpenAI's CreateResponse schema (the spec in ../shared/spec), for the fields
 * Parley honours, with the spec's types and ranges. Not generated from the spec: its closure is
 * ~200 schemas, and a strict check of every input item would refuse the private items Codex
 * sends before Parley could name them. Items and tools are checked here for their shape only;
 * request.ts checks each one and refuses what a chat upstream cannot carry with a 400 naming it.
 * Fields the spec has and Parley does not use (truncation, service_tier, prompt_cache_key, …)
 * are accepted and ignored, as unknown fields are.
 */
import { type Static, type TObject, type TProperties, type TSchema, Type } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** An object whose other fields are checked by request.ts (its `type` says which it is). */
const Open = <T extends TProperties>(props: T) =>
  Type.Unsafe<Static<TObject<T>> & Record<string, unknown>>(Type.Object(props, { additionalProperties: true }));

export const InputItem = Open({ type: Type.Optional(Type.String()), role: Type.Optional(Type.String()) });
export type InputItem = Static<typeof InputItem>;

export const Tool = Open({ type: Type.String() });
export type Tool = Static<typeof Tool>;

export const ToolChoice = Type.Union([
  Type.Union([Type.Literal('none'), Type.Literal('auto'), Type.Literal('required')]),
  Open({ type: Type.String() }),
]);
export type ToolChoice = Static<typeof ToolChoice>;

const TextFormat = Open({
  type: Type.Union([Type.Literal('text'), Type.Literal('json_schema'), Type.Literal('json_object')]),
  name: Type.Optional(Type.String({ pattern: '^[a-zA-Z0-9_-]+$', maxLength: 64 })),
  schema: Type.Optional(Type.Object({}, { additionalProperties: true })),
  description: Type.Optional(Type.String()),
  strict: Type.Optional(Nullable(Type.Boolean())),
});

export const CreateResponseBody = Type.Object(
  {
    model: Type.String({ minLength: 1, description: 'A model name Parley routes (e.g. `default`).' }),
    input: Type.Optional(Type.Union([Type.String(), Type.Array(InputItem)])),
    instructions: Type.Optional(Nullable(Type.String())),
    tools: Type.Optional(Type.Array(Tool)),
    tool_choice: Type.Optional(ToolChoice),
    parallel_tool_calls: Type.Optional(Nullable(Type.Boolean())),
    // OpenAI's API refuses fewer than 16 ("Expected a value >= 16"), though the spec does not say so.
    max_output_tokens: Type.Optional(Nullable(Type.Integer({ minimum: 16 }))),
    temperature: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 2 }))),
    top_p: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 1 }))),
    text: Type.Optional(Open({ format: Type.Optional(TextFormat) })),
    reasoning: Type.Optional(Nullable(Open({ effort: Type.Optional(Nullable(Type.String())) }))),
    store: Type.Optional(Nullable(Type.Boolean())),
    previous_response_id: Type.Optional(Nullable(Type.String({ minLength: 1 }))),
    metadata: Type.Optional(
      Nullable(
        Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 512 }), {
          maxProperties: 16,
        }),
      ),
    ),
    user: Type.Optional(Type.String()),
    stream: Type.Optional(Nullable(Type.Boolean())),
    include: Type.Optional(Nullable(Type.Array(Type.String()))),
  },
  { additionalProperties: true },
);
export type CreateResponseBody = Static<typeof CreateResponseBody>;

/** Query of GET /v1/responses/{id}/input_items. */
export const InputItemsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
    after: Type.Optional(Type.String()),
    include: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
  },
  { additionalProperties: true },
);
export type InputItemsQuery = Static<typeof InputItemsQuery>;
