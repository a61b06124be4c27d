/**
 * A new user's first run (issue 10, 4.4): the README's examples are the files in examples/
 * and say what those read; `npm install` pulls no benchmark-only tooling and no package that
 * declares it does not support the Node the README names; `npm start` builds only when the
 * sources changed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const json = (path: string) => JSON.parse(read(path));
const readme = read('README.md');

describe("the README's examples", () => {
  const examples = [...readme.matchAll(/\]\((examples\/[^)]+)\)[^\n]*\n+```\w+\n([\s\S]*?)```/g)].map((m) => ({
    file: m[1]!,
    block: m[2]!,
  }));

  it('are the files in examples/, word for word (after their opening comment)', () => {
    assert.deepEqual(examples.map((e) => e.file).sort(), [
      'examples/openai-sdk.mjs',
      'examples/stream.mjs',
      'examples/stream.py',
    ]);
    for (const { file, block } of examples) {
      const code = read(file);
      assert.ok(code.endsWith(block), `${file} ends with the README's block`);
      assert.match(
        code.slice(0, code.length - block.length),
        /^(\/\/[^\n]*\n)+\n?$|^"""[\s\S]*"""\n$/,
        `${file}: only a comment precedes it`,
      );
    }
  });

  it('document the variables the examples read, and default to the key the quick start sets', () => {
    const quickStartKey = /PARLEY_API_KEYS=([\w-]+) npm start/.exec(readme)?.[1];
    assert.ok(quickStartKey);
    for (const { file } of examples) {
      const code = read(file);
      const vars = [...code.matchAll(/process\.env\.(\w+)|os\.environ\.get\("(\w+)"/g)].map((m) => m[1] ?? m[2]!);
      assert.ok(vars.length > 0, file);
      for (const v of vars) assert.match(readme, new RegExp(`\`${v}\` \\(default`), `README documents ${v} (${file})`);
      assert.ok(
        code.includes(`'${quickStartKey}'`) || code.includes(`"${quickStartKey}"`),
        `${file} defaults to ${quickStartKey}`,
      );
    }
  });
});

describe('npm install', () => {
  const pkg = json('package.json');
  const lock = json('package-lock.json') as {
    packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }>;
  };
  const BENCH_ONLY = ['@portkey-ai/gateway', 'autocannon'];

  it('installs no benchmark-only tooling: bench/ has its own package', () => {
    for (const name of BENCH_ONLY) {
      assert.equal(pkg.dependencies[name] ?? pkg.devDependencies[name], undefined, `${name} is not Parley's`);
      assert.equal(lock.packages[`node_modules/${name}`], undefined, `${name} is not in package-lock.json`);
      assert.ok(json('bench/package.json').dependencies[name], `bench/package.json has ${name}`);
      assert.ok(
        json('bench/package-lock.json').packages[`node_modules/${name}`],
        `bench/package-lock.json locks ${name}`,
      );
    }
    assert.match(pkg.scripts.bench, /node bench\/install\.mjs/, 'npm run bench installs them');
  });

  it('pulls no package that declares it does not support the Node versions the README names', () => {
    // semver is npm's own range logic; loaded as fastify depends on it (no types of its own here).
    const semver = createRequire(import.meta.url)('semver') as {
      satisfies(version: string, range: string): boolean;
      minVersion(range: string): { version: string };
    };
    // The oldest version of each line package.json accepts (20.19.0, 22.12.0, 24.0.0), and this one.
    const supported = (pkg.engines.node as string).split('||').map((r) => semver.minVersion(r.trim()).version);
    const [major, minor] = supported[0]!.split('.');
    assert.match(
      readme,
      new RegExp(`Node\\.js ${major}\\.${minor} or newer`),
      'the README names the oldest version package.json accepts',
    );
    const refusing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!path || entry.dev) continue;
      const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
      if (range && ![...supported, process.version].every((v) => semver.satisfies(v, range)))
        refusing.push(`${path} (node ${range})`);
    }
    assert.deepEqual(refusing, []);
  });

  it('installs the stub in place of @prisma/streams-local, which every release declares Node 22 for', () => {
    // The Prisma CLI reaches it only through `prisma dev` (stubs/prisma-streams-local/index.js says why).
    assert.equal(pkg.overrides['@prisma/streams-local'], '$@prisma/streams-local');
    assert.equal(pkg.dependencies['@prisma/streams-local'], 'file:stubs/prisma-streams-local');
    const installed = lock.packages['node_modules/@prisma/streams-local'] as { resolved?: string; link?: boolean };
    assert.equal(installed?.resolved, 'stubs/prisma-streams-local');
    assert.equal(
      Object.keys(lock.packages).filter(
        (p) => p.endsWith('/@prisma/streams-local') && p !== 'node_modules/@prisma/streams-local',
      ).length,
      0,
      'no other copy',
    );
  });
});

describe('npm start', () => {
  it('builds when an output is missing, and not again while the build is current', { timeout: 120_000 }, async () => {
    const main = new URL('dist/main.js', root);
    const build = () => promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: root, timeout: 110_000 });
    rmSync(main, { force: true });
    await build();
    const built = statSync(main).mtimeMs;
    await build();
    assert.equal(statSync(main).mtimeMs, built, 'the second build wrote nothing');
  });
});
