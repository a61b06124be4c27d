/**
 * Builds the console (console/src) into console/dist: one JavaScript and one CSS bundle with a
 * content hash in their names, and index.html naming them. esbuild (already what tsx runs on)
 * bundles Preact, uPlot and the pages in well under a second, so `npm start` and `npm test` can
 * build it every time from a fresh clone. Nothing is loaded from a CDN: the page works offline.
 *
 * node console/build.mjs           build, unless console/dist is newer than every input
 * node console/build.mjs --force   build anyway
 * node console/build.mjs --watch   rebuild on change (with `npm run dev` in another terminal)
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');

/** The page: every URL relative (Parley may be mounted under a path), no inline script (a strict CSP allows it). */
function page(js, css) {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Parley console</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="assets/${css}">
  <script type="module" src="assets/${js}"></script>
</head>
<body>
  <div id="app"><noscript>The Parley console needs JavaScript.</noscript></div>
</body>
</html>
`;
}

const options = {
  entryPoints: [join(here, 'src/main.tsx')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: 'app-[hash]',
  outdir: join(out, 'assets'),
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
  plugins: [
    {
      name: 'index-html',
      setup(build) {
        build.onEnd((result) => {
          if (result.errors.length > 0) return;
          const files = Object.keys(result.metafile.outputs).map((f) => basename(f));
          const js = files.find((f) => f.endsWith('.js'));
          const css = files.find((f) => f.endsWith('.css'));
          writeFileSync(join(out, 'index.html'), page(js, css));
        });
      },
    },
  ],
};

/** The newest modification time among the build's inputs: the sources, this script, the locked packages. */
function newestInput() {
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : [statSync(join(dir, e.name)).mtimeMs],
    );
  return Math.max(
    ...walk(join(here, 'src')),
    statSync(fileURLToPath(import.meta.url)).mtimeMs,
    statSync(join(here, '../package-lock.json')).mtimeMs,
  );
}

const index = join(out, 'index.html');
const watch = process.argv.includes('--watch');
if (!watch && !process.argv.includes('--force') && existsSync(index) && statSync(index).mtimeMs >= newestInput()) {
  // Current: npm start and npm test run this every time; a build that changes nothing is skipped.
  process.exit(0);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log('console: watching console/src');
} else {
  await esbuild.build(options);
}
