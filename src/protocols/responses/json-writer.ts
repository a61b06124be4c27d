/**
 * The non-streamed answer: the pipeline's chat.completion read back as CompletionEvents and
 * assembled into one response object (the same assembly the stream uses), stored when the
 * request said `store`, then sent.
 */
import type { FastifyReply } from 'fastify';
import { completionEvents } from '../../pipeline/answer-events.js';
import { type ChatContext, noteCompleted } from '../../pipeline/context.js';
import { ResponseAssembly, type ResponseMeta, type ResponseObject } from './response.js';

export async function writeJson(
  reply: FastifyReply,
  body: string,
  ctx: ChatContext,
  meta: ResponseMeta,
  keep: (r: ResponseObject) => Promise<void>,
): Promise<void> {
  const assembly = new ResponseAssembly(meta);
  // Throws a catalogue error when the upstream's body is not a completion: answered as an HTTP error.
  for (const e of completionEvents(body, ctx.provider)) assembly.apply(e);
  const { response } = assembly.finish();
  noteCompleted(ctx, assembly.chatUsage());
  await keep(response);
  await reply.header('content-type', 'application/json').send(JSON.stringify(response));
}
