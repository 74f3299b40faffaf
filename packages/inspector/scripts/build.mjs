// Builds the inspector into ONE self-contained file, dist/index.html: the bundle (with the WASM
// codec, which embeds its module as base64) and the CSS are inlined, so the page works from
// file:// (no fetch, no external module script) as well as from any static server.
import { createHash } from 'node:crypto';
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
  .replace('/*CSP*/', () => csp(js, css))
  .replace('/*CSS*/', () => css)
  .replace('/*JS*/', () => js);
mkdirSync(join(pkg, 'dist'), { recursive: true });
writeFileSync(join(pkg, 'dist/index.html'), html);
console.log(`dist/index.html: ${(html.length / 1024).toFixed(0)} KiB`);

/**
 * The page decodes files from anyone: its Content-Security-Policy allows its own inline script
 * and style (by hash: no 'unsafe-inline', so markup smuggled into the page would run nothing),
 * the loader worker from a blob: URL, WebAssembly compiled from bytes ('wasm-unsafe-eval', the
 * codec; no eval), fetches of its own origin (?url=), and nothing else. The README says why.
 */
function csp(script, style) {
  const sha = (text) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
  return [
    "default-src 'none'",
    `script-src ${sha(script)} 'wasm-unsafe-eval'`,
    `style-src ${sha(style)}`,
    'worker-src blob:',
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}
