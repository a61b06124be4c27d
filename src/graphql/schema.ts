/**
 * The GraphQL schema (SDL). Resolvers live in ./resolvers/*; their argument types in
 * ./types.ts mirror this file.
 */
export const MAX_PAGE = 100;
export const MAX_TITLE_LENGTH = 500;
/** Most intervals one usageSeries may span (a week by the minute is too many; by the hour it is 168). */
export const MAX_SERIES_POINTS = 1500;

export const schema = /* GraphQL */ `
  "An ISO-8601 date-time with a timezone, e.g. 2026-01-31T12:00:00.000Z."
  scalar DateTime

  type Todo {
    id: ID!
    title: String!
    completed: Boolean!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  "A database API key. The secret itself is never returned after creation; prefix tells keys apart."
  type ApiKey {
    id: ID!
    name: String!
    "First characters of the secret, e.g. pk_AbCd1234."
    prefix: String!
    createdAt: DateTime!
    lastUsedAt: DateTime
    revokedAt: DateTime
    expiresAt: DateTime
    "Models the key may use; null means any model."
    allowedModels: [String!]
    "Not revoked and not expired."
    active: Boolean!
    "Rate limits and budget; null: none."
    limits: KeyLimits
    "USD spent in the current budget period (the calendar month, UTC, for a key without a budget), as recorded."
    spendUsd: Float!
  }

  "How often a budget renews (UTC): each day, each calendar month, or never."
  enum BudgetPeriod {
    DAY
    MONTH
    TOTAL
  }

  "A key's limits (docs/limits.md); a null field is no limit."
  type KeyLimits {
    requestsPerMinute: Int
    "Prompt and completion tokens per minute (reserved before the call: prompt estimate + max_tokens)."
    tokensPerMinute: Int
    "Requests in progress at once."
    maxParallelRequests: Int
    "Spend cap in USD for each budgetPeriod; reaching it refuses requests with 429 insufficient_quota."
    budgetUsd: Float
    budgetPeriod: BudgetPeriod
  }

  "Limits to set; an omitted or null field is no limit (updateApiKeyLimits replaces them all)."
  input KeyLimitsInput {
    requestsPerMinute: Int
    tokensPerMinute: Int
    maxParallelRequests: Int
    budgetUsd: Float
    "Default MONTH."
    budgetPeriod: BudgetPeriod
  }

  type CreatedApiKey {
    key: ApiKey!
    "The secret, shown this once: use it as 'Authorization: Bearer <secret>'."
    secret: String!
  }

  enum UsageGroupBy {
    MODEL
    KEY
    DAY
    "The provider that answered (the last target tried)."
    PROVIDER
  }

  "The width of one usageSeries point."
  enum UsageInterval {
    MINUTE
    HOUR
    DAY
  }

  "One point of usageSeries: the requests made in [at, at + interval), for one group."
  type UsagePoint {
    "The start of the interval (UTC)."
    at: DateTime!
    "The model, key id or provider (as UsageBucket.key); null when not grouped."
    key: String
    requests: Int!
    errors: Int!
    promptTokens: Float!
    completionTokens: Float!
    totalTokens: Float!
  }

  type UsageBucket {
    "The requested model, the key id (env:<n>, a database key's id, or open), or the UTC day (YYYY-MM-DD)."
    key: String
    "The key's name when grouping by KEY and it is a database key."
    keyName: String
    requests: Int!
    "Requests that ended with an HTTP status of 400 or more."
    errors: Int!
    "Token sums (Float: exact up to 2^53)."
    promptTokens: Float!
    completionTokens: Float!
    totalTokens: Float!
    "USD spent (priced requests only); null when no request in the bucket has a cost."
    costUsd: Float
  }

  enum Route {
    "/v1/chat/completions"
    openai
    "/chat/completions (Vapi Custom LLM)"
    vapi
    "/v1/messages (Anthropic Messages API)"
    anthropic
    "/v1/responses (OpenAI Responses API)"
    responses
    "/retell/llm-websocket/:call_id (Retell's LLM WebSocket): one record per response"
    retell
  }

  type VapiCall {
    callId: String
    assistantId: String
    customerNumber: String
  }

  type RequestLog {
    id: ID!
    requestId: String!
    keyId: String
    route: Route!
    requestedModel: String
    provider: String
    upstreamModel: String
    stream: Boolean!
    status: Int!
    errorType: String
    promptTokens: Int
    completionTokens: Int
    totalTokens: Int
    "Milliseconds to the first streamed content chunk."
    ttftMs: Float
    durationMs: Float!
    clientAborted: Boolean!
    fallback: Boolean!
    "Set for requests Vapi made during a call."
    vapi: VapiCall
    "How many upstream attempts were made (failover and hedging included); null when none was."
    attemptCount: Int
    "Each upstream attempt, in start order; the one whose outcome is answered is the target that answered."
    attempts: [Attempt!]
    "The token counts are Parley's own count: the stream ended before the upstream reported usage (caller barge-in, upstream cut, deadline, shutdown)."
    usageEstimated: Boolean!
    "The voice platform that sent the request (vapi, elevenlabs, cartesia, fish, livekit, pipecat, retell, or an alias's platform)."
    platform: String
    "The voice platform's id for the call (Vapi's call.id, Retell's call_id)."
    callId: String
    "Answered from this earlier request's result (same Idempotency-Key): no upstream tokens were spent."
    replayOf: String
    "What the request cost in USD (computed in integer micro-dollars); null for an unpriced model."
    costUsd: Float
    createdAt: DateTime!
  }

  "One upstream attempt of a request."
  type Attempt {
    provider: String!
    model: String!
    "answered, failed, timeout (no first token within firstTokenTimeoutMs), lost (a hedged attempt another target beat), cancelled."
    outcome: String!
    "The failure's HTTP status and code (failed, timeout)."
    status: Int
    code: String
    "When it started, in milliseconds after the request arrived."
    startMs: Float!
    "How long it ran until its outcome, in milliseconds."
    ms: Float!
  }

  input RequestLogFilter {
    "One request, by its x-request-id."
    requestId: String
    route: Route
    keyId: String
    requestedModel: String
    provider: String
    status: Int
    "Only requests that ended with an HTTP status of 400 or more."
    errorsOnly: Boolean
    vapiCallId: String
    platform: String
    callId: String
    from: DateTime
    to: DateTime
  }

  type PageInfo {
    endCursor: String
    hasNextPage: Boolean!
  }

  type RequestLogConnection {
    nodes: [RequestLog!]!
    pageInfo: PageInfo!
  }

  type Query {
    "Todos, oldest first. Page with first/after (after: the id of the last todo seen)."
    todos(completed: Boolean, first: Int = ${MAX_PAGE}, after: ID): [Todo!]!
    todo(id: ID!): Todo!
    "Admin: all database keys, newest first."
    apiKeys: [ApiKey!]!
    "Admin: request counts and token sums in [from, to) (default: the last 30 days)."
    usage(from: DateTime, to: DateTime, groupBy: UsageGroupBy!): [UsageBucket!]!
    "Admin: usage over time in [from, to) (default: the last 24 hours), one point per interval and group with requests; at most ${MAX_SERIES_POINTS} intervals. Its sums equal usage's for the same range."
    usageSeries(from: DateTime, to: DateTime, interval: UsageInterval!, groupBy: UsageGroupBy): [UsagePoint!]!
    "Admin: chat requests, newest first."
    requestLogs(filter: RequestLogFilter, first: Int = 50, after: String): RequestLogConnection!
  }

  type Mutation {
    createTodo(title: String!): Todo!
    updateTodo(id: ID!, title: String, completed: Boolean): Todo!
    "Deletes the todo and returns it."
    deleteTodo(id: ID!): Todo!
    "Admin: creates a key and returns its secret (once)."
    createApiKey(name: String!, expiresAt: DateTime, allowedModels: [String!], limits: KeyLimitsInput): CreatedApiKey!
    "Admin: replaces a key's limits (every replica within PARLEY_KEY_REFRESH_MS); all fields null removes them."
    updateApiKeyLimits(id: ID!, limits: KeyLimitsInput!): ApiKey!
    "Admin: revokes a key; it is refused from now on (every replica within PARLEY_KEY_REFRESH_MS)."
    revokeApiKey(id: ID!): ApiKey!
  }
`;
