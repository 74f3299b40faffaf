// The sanitizer builds of the addon (test-asan.mjs, test-tsan.mjs): gcc with Node's own headers,
// into a directory of their own (the normal build in native/build is left alone).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Prints `<script>: msg` and exits 1. */
export function fail(script, msg) {
  console.error(`${script}: ${msg}`);
  process.exit(1);
}

/** The absolute path of a file gcc ships (a sanitizer runtime to preload). */
export function gccFile(script, name) {
  const r = spawnSync('gcc', [`-print-file-name=${name}`], { encoding: 'utf8' });
  const p = r.stdout?.trim();
  if (r.status !== 0 || !p || !p.startsWith('/') || !existsSync(p)) fail(script, `gcc does not provide ${name} (apt-get install gcc)`);
  return p;
}

/** Builds native/ipc.c with `flags` into native/<dir>/corosync_ts_ipc.node; its path. */
export function buildAddon(script, dir, flags) {
  const include = [join(dirname(process.execPath), '..', 'include', 'node'), process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node')].find(
    (d) => d && existsSync(join(d, 'node_api.h')),
  );
  if (!include) fail(script, "Node's headers (include/node/node_api.h) were not found next to this node; set npm_config_nodedir");
  const outDir = join(pkg, 'native', dir);
  const addon = join(outDir, 'corosync_ts_ipc.node');
  mkdirSync(outDir, { recursive: true });
  const cc = spawnSync(
    'gcc',
    [
      '-std=gnu11', '-g', '-O1', ...flags, '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-missing-field-initializers', '-Wno-format-truncation',
      '-fPIC', '-shared', '-DNAPI_VERSION=8', '-DNODE_GYP_MODULE_NAME=corosync_ts_ipc', `-I${include}`,
      join(pkg, 'native', 'ipc.c'), '-o', addon, '-lpthread', '-ldl',
    ],
    { stdio: 'inherit' },
  );
  if (cc.status !== 0) fail(script, 'the sanitizer build of the addon failed');
  return addon;
}
