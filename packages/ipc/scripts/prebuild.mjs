// Builds the prebuilt addons shipped in the package, from native/ipc.c, with plain C compilers
// (no node-gyp, no g++): prebuilds/<platform>-<arch>/corosync_ts_ipc.<libc>.node, the layout
// src/native.ts loads. The addon uses only N-API (pinned to version 8) and libuv 1.x, whose symbols
// Node resolves at load time, so one binary per target serves Node 20, 22 and 24. Headers: the
// running Node's include/node (official and Debian builds ship it) or npm_config_nodedir.
//
//   node scripts/prebuild.mjs           every target whose compiler is installed (all of them under CI=true)
//   node scripts/prebuild.mjs --check   fail unless every target's binary is present (run before packing)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Every binary the package ships; the host's own is always required. */
export const TARGETS = [
  { dir: 'linux-x64', libc: 'glibc', cc: 'x86_64-linux-gnu-gcc', host: 'x64' },
  { dir: 'linux-arm64', libc: 'glibc', cc: 'aarch64-linux-gnu-gcc', host: 'arm64' },
  { dir: 'linux-x64', libc: 'musl', cc: 'musl-gcc' },
];

// The same warnings and optimisation as binding.gyp (the source-build fallback).
const CFLAGS = [
  '-std=gnu11', '-O2', '-fPIC', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter', '-Wno-missing-field-initializers',
  '-Wno-format-truncation', '-fvisibility=hidden', '-DNAPI_VERSION=8',
];

const outFile = (t) => join(root, 'prebuilds', t.dir, `corosync_ts_ipc.${t.libc}.node`);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function compilerFor(t) {
  if (has(t.cc)) return t.cc;
  // The host's native gcc is that target's compiler too.
  if (t.host === process.arch && has('gcc')) return 'gcc';
  return undefined;
}

if (process.argv.includes('--check')) {
  const missing = TARGETS.map(outFile).filter((f) => !existsSync(f));
  if (missing.length) {
    console.error(`@corosync-ts/ipc: prebuilt addons missing (run pnpm build with the cross compilers of scripts/setup.sh):\n  ${missing.join('\n  ')}`);
    process.exit(1);
  }
  process.exit(0);
}

const nodedir = process.env.npm_config_nodedir || join(dirname(process.execPath), '..');
const headers = join(nodedir, 'include', 'node');
if (!existsSync(join(headers, 'node_api.h')) || !existsSync(join(headers, 'uv.h'))) {
  console.error(`prebuild: no node_api.h and uv.h in ${headers}; set npm_config_nodedir to a Node prefix holding include/node`);
  process.exit(1);
}
const strict = process.env.CI === 'true';
let failed = false;
for (const t of TARGETS) {
  const cc = compilerFor(t);
  const out = outFile(t);
  if (!cc) {
    const msg = `no ${t.cc} on PATH: ${t.dir} ${t.libc} not built`;
    if (strict || t.host === process.arch) {
      console.error(`prebuild: ${msg}`);
      failed = true;
    } else {
      console.warn(`prebuild: ${msg} (install it as scripts/setup.sh does)`);
      rmSync(out, { force: true });
    }
    continue;
  }
  mkdirSync(dirname(out), { recursive: true });
  // Written aside and renamed: a running test never loads a half-written binary.
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(cc, [...CFLAGS, `-I${headers}`, '-shared', '-o', tmp, join(root, 'native', 'ipc.c'), '-lpthread', '-ldl', '-Wl,-s'], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.error(`prebuild: ${cc} failed for ${t.dir} ${t.libc}`);
    rmSync(tmp, { force: true });
    failed = true;
    continue;
  }
  renameSync(tmp, out);
}
process.exit(failed ? 1 : 0);
