/**
 * Keys: the database API keys — create one (name, allowed models, expiry; limits once the
 * schema has them) and see its secret once, with a copy button; revoke; when each was last
 * used; spend when the schema reports it.
 */
import { useState } from 'preact/hooks';
import { adminJson, gql, schemaFields } from '../api';
import { CopyButton, Empty, ErrorBox, Loading, useLoad } from '../components';
import { fmtAgo, fmtTime, fmtUsd } from '../format';
import { type RouteTable, shared } from '../shared';

interface Key {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
  allowedModels: string[] | null;
  active: boolean;
  spendUsd?: number | null;
}

const BASE_FIELDS = 'id name prefix createdAt lastUsedAt revokedAt expiresAt allowedModels active';

async function loadKeys(): Promise<{ keys: Key[]; spend: boolean }> {
  // Spend per key arrives with the limits & cost work: asked for only when the schema has it.
  const spend = (await schemaFields('ApiKey')).has('spendUsd');
  const fields = spend ? `${BASE_FIELDS} spendUsd` : BASE_FIELDS;
  const data = await gql<{ apiKeys: Key[] }>(`{ apiKeys { ${fields} } }`);
  return { keys: data.apiKeys, spend };
}

function CreateKey({ onCreated }: { onCreated: (secret: string, key: Key) => void }) {
  const [name, setName] = useState('');
  const [models, setModels] = useState('');
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const aliases = useLoad(() => adminJson<RouteTable>('admin/routes').then((t) => t.models.map((m) => m.model)), []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const allowedModels = models
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean);
      const data = await gql<{ createApiKey: { secret: string; key: Key } }>(
        `mutation($name: String!, $expiresAt: DateTime, $models: [String!]) {
          createApiKey(name: $name, expiresAt: $expiresAt, allowedModels: $models) { secret key { ${BASE_FIELDS} } }
        }`,
        {
          name: name.trim(),
          expiresAt: expires ? new Date(expires).toISOString() : null,
          models: allowedModels.length > 0 ? allowedModels : null,
        },
      );
      setName('');
      setModels('');
      setExpires('');
      onCreated(data.createApiKey.secret, data.createApiKey.key);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" onSubmit={submit} aria-labelledby="create-title">
      <h2 id="create-title">Create a key</h2>
      <div class="row">
        <label class="grow">
          Name
          <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="grow">
          Allowed models <span class="muted">(comma-separated; empty: any)</span>
          <input
            list="model-names"
            value={models}
            placeholder={aliases.data?.slice(0, 3).join(', ') ?? 'default'}
            onInput={(e) => setModels(e.currentTarget.value)}
          />
          <datalist id="model-names">
            {(aliases.data ?? []).map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
        </label>
        <label>
          Expires <span class="muted">(optional)</span>
          <input type="datetime-local" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </label>
      </div>
      {/* Limits (requests/tokens per minute, budget): added here once the GraphQL schema has ApiKey.limits. */}
      <div class="actions">
        <button type="submit" disabled={busy || !name.trim()}>
          {busy ? 'Creating…' : 'Create key'}
        </button>
      </div>
      {error ? <ErrorBox error={error} /> : null}
    </form>
  );
}

function NewSecret({ secret, name, onDone }: { secret: string; name: string; onDone: () => void }) {
  return (
    <section class="card secret" aria-labelledby="secret-title" role="status">
      <h2 id="secret-title">Key “{name}” created</h2>
      <p>
        Copy the secret now: <strong>it is not shown again</strong> (Parley keeps only its hash).
      </p>
      <p class="secret-line">
        <code data-testid="secret">{secret}</code> <CopyButton text={secret} />
      </p>
      <div class="actions">
        <button
          type="button"
          class="button"
          onClick={() => {
            shared.clientKey = secret;
            window.location.hash = '#/playground';
          }}
        >
          Try it in the playground
        </button>
        <button type="button" onClick={onDone}>
          I have saved it
        </button>
      </div>
    </section>
  );
}

function RevokeButton({ id, name, onRevoked }: { id: string; name: string; onRevoked: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const revoke = async () => {
    try {
      await gql('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id });
      onRevoked();
    } catch (err) {
      setError(err);
    }
  };
  if (error) return <ErrorBox error={error} />;
  return confirming ? (
    <span class="confirm">
      <button type="button" class="danger" onClick={revoke} aria-label={`Confirm: revoke ${name}`}>
        Revoke now
      </button>
      <button type="button" onClick={() => setConfirming(false)}>
        Cancel
      </button>
    </span>
  ) : (
    <button type="button" onClick={() => setConfirming(true)} aria-label={`Revoke ${name}`}>
      Revoke
    </button>
  );
}

export function KeysPage() {
  const list = useLoad(loadKeys, []);
  const [created, setCreated] = useState<{ secret: string; name: string } | null>(null);
  return (
    <div>
      {created ? (
        <NewSecret secret={created.secret} name={created.name} onDone={() => setCreated(null)} />
      ) : (
        <CreateKey
          onCreated={(secret, key) => {
            setCreated({ secret, name: key.name });
            list.reload();
          }}
        />
      )}
      <section class="card" aria-labelledby="keys-title">
        <h2 id="keys-title">Database keys</h2>
        <p class="hint">
          Keys from <code>PARLEY_API_KEYS</code> are not listed here (they live in the environment); their usage is
          under <code>env:&lt;n&gt;</code>.
        </p>
        {list.error ? <ErrorBox error={list.error} retry={list.reload} /> : null}
        {!list.data && list.loading ? <Loading what="keys" /> : null}
        {list.data && list.data.keys.length === 0 ? <Empty>No database keys yet: create one above.</Empty> : null}
        {list.data && list.data.keys.length > 0 ? (
          <div class="table-wrap">
            <table data-testid="keys">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Prefix</th>
                  <th scope="col">Models</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Expires</th>
                  {list.data.spend ? <th scope="col">Spend</th> : null}
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.keys.map((k) => (
                  <tr key={k.id} data-key-name={k.name}>
                    <td>
                      <a href={`#/logs?key=${encodeURIComponent(k.id)}`}>{k.name}</a>
                    </td>
                    <td>
                      <code>{k.prefix}…</code>
                    </td>
                    <td>{k.allowedModels?.join(', ') ?? <span class="muted">any</span>}</td>
                    <td>{fmtTime(k.createdAt)}</td>
                    <td title={k.lastUsedAt ?? undefined}>{fmtAgo(k.lastUsedAt)}</td>
                    <td>{k.expiresAt ? fmtTime(k.expiresAt) : <span class="muted">never</span>}</td>
                    {list.data?.spend ? <td>{fmtUsd(k.spendUsd)}</td> : null}
                    <td>
                      <span class={`badge ${k.active ? 'ok' : 'off'}`}>
                        {k.revokedAt ? 'revoked' : k.active ? 'active' : 'expired'}
                      </span>
                    </td>
                    <td>{k.revokedAt ? null : <RevokeButton id={k.id} name={k.name} onRevoked={list.reload} />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
    </div>
  );
}
