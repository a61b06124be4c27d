/** todos, todo, createTodo, updateTodo, deleteTodo: any valid client key. */
import type { IResolvers } from 'mercurius';
import type { Todo } from '../../generated/prisma/client.js';
import { requireKey } from '../auth.js';
import type { GraphqlDeps } from '../context.js';
import { badInput, notFound } from '../errors.js';
import { MAX_PAGE, MAX_TITLE_LENGTH } from '../schema.js';
import { isUuid, orNotFound, pageSize, storable } from './args.js';

function title(raw: string): string {
  const t = storable(raw, 'title').trim();
  if (!t) throw badInput('title must not be empty', 'title');
  if (t.length > MAX_TITLE_LENGTH)
    throw badInput(`title must be at most ${MAX_TITLE_LENGTH} characters; got ${t.length}`, 'title');
  return t;
}

export function todoResolvers({ prisma }: GraphqlDeps): IResolvers {
  const lookup = async (id: string): Promise<Todo | null> =>
    isUuid(id) ? prisma.todo.findUnique({ where: { id } }) : null;
  const find = async (id: string): Promise<Todo> => {
    const todo = await lookup(id);
    if (!todo) throw notFound('todo', id);
    return todo;
  };
  return {
    Query: {
      async todos(_root, args: { completed?: boolean | null; first?: number | null; after?: string | null }, ctx) {
        requireKey(ctx.caller);
        const take = pageSize(args.first, MAX_PAGE);
        // Only a missing todo is the caller's mistake; a database failure stays one.
        if (args.after != null && !(await lookup(args.after)))
          throw badInput(`after: no todo with id ${JSON.stringify(args.after)}`, 'after');
        return prisma.todo.findMany({
          where: args.completed == null ? {} : { completed: args.completed },
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
          take,
          ...(args.after != null ? { cursor: { id: args.after }, skip: 1 } : {}),
        });
      },
      async todo(_root, args: { id: string }, ctx) {
        requireKey(ctx.caller);
        return find(args.id);
      },
    },
    Mutation: {
      async createTodo(_root, args: { title: string }, ctx) {
        requireKey(ctx.caller);
        return prisma.todo.create({ data: { title: title(args.title) } });
      },
      async updateTodo(_root, args: { id: string; title?: string | null; completed?: boolean | null }, ctx) {
        requireKey(ctx.caller);
        if (args.title === null) throw badInput('title cannot be null (omit it to keep the title)', 'title');
        if (args.completed === null) throw badInput('completed cannot be null (omit it to keep it)', 'completed');
        const data = {
          ...(args.title !== undefined ? { title: title(args.title) } : {}),
          ...(args.completed !== undefined ? { completed: args.completed } : {}),
        };
        if (!isUuid(args.id)) throw notFound('todo', args.id);
        return orNotFound(prisma.todo.update({ where: { id: args.id }, data }), 'todo', args.id);
      },
      async deleteTodo(_root, args: { id: string }, ctx) {
        requireKey(ctx.caller);
        if (!isUuid(args.id)) throw notFound('todo', args.id);
        return orNotFound(prisma.todo.delete({ where: { id: args.id } }), 'todo', args.id);
      },
    },
  };
}
