// Builds the inspector into ONE self-contained file, dist/index.html: the bundle (with the WASM
// codec, which embeds its module as base64) and the CSS are inlined, so the page works from
// file:// (no fetch, no external module script) as well as from any static server.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
// The capture loader runs in a classic worker made from a blob: URL (see src/main.ts), so its
// bundle goes into the page's as a string.
const worker = await build({
  entryPoints: [join(pkg, 'src/worker.ts')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  write: false,
  legalComments: 'none',
});
const r = await build({
  entryPoints: [join(pkg, 'src/main.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  write: false,
  legalComments: 'none',
  define: { __INSPECTOR_WORKER__: JSON.stringify(worker.outputFiles[0].text) },
});
const js = r.outputFiles[0].text.replace(/<\/script/gi, '<\\/script');
const css = readFileSync(join(pkg, 'src/style.css'), 'utf8');
const html = readFileSync(join(pkg, 'src/index.html'), 'utf8')
  .replace('/*CSS*/', () => css)
  .replace('/*JS*/', () => js);
mkdirSync(join(pkg, 'dist'), { recursive: true });
writeFileSync(join(pkg, 'dist/index.html'), html);
console.log(`dist/index.html: ${(html.length / 1024).toFixed(0)} KiB`);
