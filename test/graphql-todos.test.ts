/**
 * GraphQL todos on both databases: the seed's operations verbatim, CRUD, filtering,
 * pagination, bad input, auth, limits, GraphQL-over-HTTP, and data surviving a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { needs } from './helpers/prerequisites.js';
import { backends, codes, gql, type StoreParley, startStoreParley, storeParleyForSuite } from './helpers/store.js';

// Exactly as the seed document writes them.
const SEED_QUERY = `query {
  todos {
    id
    title
    completed
    createdAt
  }
}`;
const SEED_MUTATION = `mutation {
  createTodo(title: "Test Todo") {
    id
    title
    completed
    createdAt
  }
}`;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

for (const backend of backends()) {
  describe(`GraphQL todos on ${backend.name}`, {
    skip: needs(`the ${backend.name} backend`, backend.unavailable),
  }, () => {
    let env: Record<string, string>;
    let p: StoreParley;
    const KEY = 'sk-todo-test-key';

    before(async () => {
      env = { ...(await backend.fresh()), PARLEY_API_KEYS: KEY };
      p = await startStoreParley(env);
    });
    after(async () => {
      await p?.close();
      await backend.cleanup();
    });

    const call = (query: string, variables?: Record<string, unknown>) => gql(p.url, query, variables, KEY);

    it("runs the seed's mutation and query verbatim", async () => {
      const created = await call(SEED_MUTATION);
      assert.equal(created.status, 200);
      assert.equal(created.body.errors, undefined);
      const todo = created.body.data!.createTodo;
      assert.deepEqual(Object.keys(todo), ['id', 'title', 'completed', 'createdAt']);
      assert.equal(todo.title, 'Test Todo');
      assert.equal(todo.completed, false);
      assert.equal(typeof todo.id, 'string');
      assert.match(todo.createdAt, ISO);

      const listed = await call(SEED_QUERY);
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body, { data: { todos: [todo] } });
    });

    it('reads, updates, filters and deletes todos', async () => {
      const a = (await call('mutation($t: String!) { createTodo(title: $t) { id updatedAt } }', { t: '  Buy milk  ' }))
        .body.data!.createTodo;
      const one = await call('query($id: ID!) { todo(id: $id) { id title completed } }', { id: a.id });
      assert.deepEqual(one.body.data!.todo, { id: a.id, title: 'Buy milk', completed: false });

      const upd = await call(
        'mutation($id: ID!) { updateTodo(id: $id, completed: true) { title completed updatedAt } }',
        { id: a.id },
      );
      assert.equal(upd.body.data!.updateTodo.completed, true);
      assert.equal(upd.body.data!.updateTodo.title, 'Buy milk');
      assert.ok(upd.body.data!.updateTodo.updatedAt >= a.updatedAt);
      const renamed = await call(
        'mutation($id: ID!) { updateTodo(id: $id, title: "Buy oat milk") { title completed } }',
        { id: a.id },
      );
      assert.deepEqual(renamed.body.data!.updateTodo, { title: 'Buy oat milk', completed: true });

      const done = await call('{ todos(completed: true) { id } }');
      assert.deepEqual(done.body.data!.todos, [{ id: a.id }]);
      const open = await call('{ todos(completed: false) { id completed } }');
      assert.ok(open.body.data!.todos.length >= 1);
      assert.ok(open.body.data!.todos.every((t: { completed: boolean }) => !t.completed));

      const del = await call('mutation($id: ID!) { deleteTodo(id: $id) { id title } }', { id: a.id });
      assert.deepEqual(del.body.data!.deleteTodo, { id: a.id, title: 'Buy oat milk' });
      const gone = await call('query($id: ID!) { todo(id: $id) { id } }', { id: a.id });
      assert.deepEqual(codes(gone), ['NOT_FOUND']);
    });

    it('pages with first/after, oldest first', async () => {
      for (const t of ['p1', 'p2', 'p3', 'p4', 'p5']) await call(`mutation { createTodo(title: "${t}") { id } }`);
      const all = (await call('{ todos { id title } }')).body.data!.todos as { id: string; title: string }[];
      const seen: string[] = [];
      let cursor: string | undefined;
      // Bounded: a cursor that never advances fails here instead of hanging the suite.
      for (let pages = 1; ; pages++) {
        assert.ok(pages <= all.length + 1, `paging ends (${all.length} todos, pages of two)`);
        const page = (await call('query($after: ID) { todos(first: 2, after: $after) { id } }', { after: cursor })).body
          .data!.todos as { id: string }[];
        if (page.length === 0) break;
        assert.ok(page.length <= 2);
        seen.push(...page.map((t) => t.id));
        cursor = page[page.length - 1]!.id;
      }
      assert.deepEqual(
        seen,
        all.map((t) => t.id),
      );
      assert.deepEqual(
        all.slice(-5).map((t) => t.title),
        ['p1', 'p2', 'p3', 'p4', 'p5'],
      );
    });

    it('answers bad input with GraphQL errors, never a 500', async () => {
      for (const title of ['', '   ', 'x'.repeat(501)]) {
        const r = await call('mutation($t: String!) { createTodo(title: $t) { id } }', { t: title });
        assert.equal(r.status, 200);
        assert.deepEqual(codes(r), ['BAD_USER_INPUT'], `title ${JSON.stringify(title.slice(0, 10))}`);
        assert.equal(r.body.data, null);
      }
      assert.deepEqual(
        codes(await call('mutation($t: String!) { createTodo(title: $t) { id } }', { t: 'x'.repeat(500) })),
        [],
      );
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', '42']) {
        assert.deepEqual(codes(await call('query($id: ID!) { todo(id: $id) { id } }', { id })), ['NOT_FOUND'], id);
        assert.deepEqual(
          codes(await call('mutation($id: ID!) { updateTodo(id: $id, completed: true) { id } }', { id })),
          ['NOT_FOUND'],
          id,
        );
        assert.deepEqual(
          codes(await call('mutation($id: ID!) { deleteTodo(id: $id) { id } }', { id })),
          ['NOT_FOUND'],
          id,
        );
      }
      assert.deepEqual(codes(await call('{ todos(first: 0) { id } }')), ['BAD_USER_INPUT']);
      assert.deepEqual(codes(await call('{ todos(first: 1000) { id } }')), ['BAD_USER_INPUT']);
      assert.deepEqual(codes(await call('{ todos(after: "00000000-0000-4000-8000-000000000000") { id } }')), [
        'BAD_USER_INPUT',
      ]);
      const nullTitle = await call(
        'mutation { updateTodo(id: "00000000-0000-4000-8000-000000000000", title: null) { id } }',
      );
      assert.deepEqual(codes(nullTitle), ['BAD_USER_INPUT']);

      // Malformed requests: a syntax error, an unknown field, a wrong variable type.
      const syntax = await call('{ todos { id ');
      assert.ok(syntax.status >= 400 && syntax.status < 500);
      assert.deepEqual(codes(syntax), ['GRAPHQL_PARSE_FAILED']);
      const unknown = await call('{ todos { nope } }');
      assert.ok(unknown.status >= 400 && unknown.status < 500);
      assert.match(unknown.body.errors![0]!.message, /nope/);
      assert.deepEqual(codes(unknown), ['GRAPHQL_VALIDATION_FAILED']);
      const wrongType = await call('mutation($t: String!) { createTodo(title: $t) { id } }', { t: 42 });
      assert.ok(wrongType.status < 500);
      assert.deepEqual(codes(wrongType), ['BAD_USER_INPUT']);
      const notJson = await fetch(`${p.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: '{"query":',
      });
      assert.equal(notJson.status, 400);
      assert.deepEqual(
        ((await notJson.json()) as { errors: { extensions: { code: string } }[] }).errors.map((e) => e.extensions.code),
        ['BAD_REQUEST'],
      );
    });

    it('needs a valid key for todos', async () => {
      assert.deepEqual(codes(await gql(p.url, '{ todos { id } }')), ['UNAUTHENTICATED']);
      assert.deepEqual(codes(await gql(p.url, '{ todos { id } }', undefined, 'wrong-key')), ['UNAUTHENTICATED']);
      assert.deepEqual(codes(await gql(p.url, 'mutation { createTodo(title: "x") { id } }')), ['UNAUTHENTICATED']);
    });

    it('stops abusive queries: depth, aliases and fragments', async () => {
      // Introspection's fields → type cycle, where each level multiplies the answer (ofType links are not counted).
      const deep = await call(
        '{ requestLogs { nodes { vapi { callId } } } todos { id } __schema { types { fields { type { fields { type { ofType { name } } } } } } } }',
      );
      assert.ok(deep.status >= 400 && deep.status < 500);
      assert.deepEqual(codes(deep), ['QUERY_TOO_COMPLEX']);
      assert.match(deep.body.errors![0]!.message, /too deep/);

      const aliases = Array.from({ length: 100 }, (_, i) => `a${i}: todos { id title completed createdAt }`).join(' ');
      const wide = await call(`{ ${aliases} }`);
      assert.ok(wide.status >= 400 && wide.status < 500);
      assert.deepEqual(codes(wide), ['QUERY_TOO_COMPLEX']);

      const frag = `fragment F on Todo { id title completed createdAt updatedAt } query { ${Array.from({ length: 70 }, (_, i) => `b${i}: todos { ...F }`).join(' ')} }`;
      assert.deepEqual(codes(await call(frag)), ['QUERY_TOO_COMPLEX']);
    });

    it('speaks GraphQL over HTTP: GET for queries, not for mutations; GraphiQL for browsers', async () => {
      const q = encodeURIComponent('{ todos(first: 1) { id } }');
      const get = await fetch(`${p.url}/graphql?query=${q}`, { headers: { authorization: `Bearer ${KEY}` } });
      assert.equal(get.status, 200);
      assert.ok(Array.isArray(((await get.json()) as { data: { todos: unknown[] } }).data.todos));

      const m = encodeURIComponent('mutation { createTodo(title: "via GET") { id } }');
      const getMutation = await fetch(`${p.url}/graphql?query=${m}`, { headers: { authorization: `Bearer ${KEY}` } });
      assert.equal(getMutation.status, 405);
      assert.deepEqual(
        ((await getMutation.json()) as { errors: { extensions: { code: string } }[] }).errors.map(
          (e) => e.extensions.code,
        ),
        ['METHOD_NOT_ALLOWED'],
      );

      const browser = await fetch(`${p.url}/graphql`, {
        headers: { accept: 'text/html,application/xhtml+xml' },
        redirect: 'manual',
      });
      assert.equal(browser.status, 302);
      assert.equal(browser.headers.get('location'), '/graphiql');
      const ide = await fetch(`${p.url}/graphiql`);
      assert.equal(ide.status, 200);
      assert.match(await ide.text(), /graphiql/i);
    });

    it('answers SERVICE_UNAVAILABLE while shutting down', async () => {
      p.parley.lifecycle.phase = 'shutting_down';
      try {
        const res = await p.parley.app.inject({
          method: 'POST',
          url: '/graphql',
          headers: { authorization: `Bearer ${KEY}` },
          payload: { query: '{ todos { id } }' },
        });
        assert.ok(res.statusCode < 500, String(res.statusCode));
        assert.deepEqual(
          res.json().errors.map((e: { extensions: { code: string } }) => e.extensions.code),
          ['SERVICE_UNAVAILABLE'],
        );
        assert.match(res.json().errors[0].message, /shutting down/);
      } finally {
        p.parley.lifecycle.phase = 'ready';
      }
    });

    it('keeps the data across a restart', async () => {
      const made = (await call('mutation { createTodo(title: "Survivor") { id title createdAt } }')).body.data!
        .createTodo;
      await p.close();
      p = await startStoreParley(env);
      const back = await call('query($id: ID!) { todo(id: $id) { id title createdAt } }', { id: made.id });
      assert.deepEqual(back.body.data!.todo, made);
      const seed = await call(SEED_QUERY);
      assert.ok(seed.body.data!.todos.some((t: { title: string }) => t.title === 'Test Todo'));
    });
  });
}

describe('GraphQL todos with no keys at all (open on loopback)', () => {
  const backend = backends()[0]!;
  const suite = storeParleyForSuite(backend);

  it('serves todos without a key', async () => {
    const r = await gql(suite.parley.url, SEED_MUTATION);
    assert.equal(r.body.data!.createTodo.title, 'Test Todo');
    assert.equal((await gql(suite.parley.url, SEED_QUERY)).body.data!.todos.length, 1);
  });
});
