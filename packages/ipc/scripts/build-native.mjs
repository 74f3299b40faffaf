// The install script, and the way to build the addon by hand: when the package ships a prebuilt
// binary that loads here, nothing to do; otherwise builds native/build/Release/corosync_ts_ipc.node
// from source with node-gyp against the running Node's own headers (no download: N-API is
// ABI-stable, so one build serves Node 20, 22 and 24), linking with the C compiler (no g++).
// Failing, it says what to install instead of a gyp stack trace and records that in
// native/install-error.txt, where the runtime error quotes it. As an install script it then exits 0,
// so that the install goes on and the first call says why (run by hand, it exits 1).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const nativeDir = join(here, '..', 'native');
const record = join(nativeDir, 'install-error.txt');
const asInstallScript = process.env.npm_lifecycle_event === 'install';
rmSync(record, { force: true });

function fail(msg) {
  console.error(`\n@corosync-ts/ipc: cannot build the native addon: ${msg}\n`);
  try {
    writeFileSync(record, `${msg}\n`);
  } catch {}
  process.exit(asInstallScript ? 0 : 1);
}

function prebuildLoads() {
  if (process.env.COROSYNC_TS_IPC_BUILD_FROM_SOURCE) return false;
  const glibc = process.report?.getReport().header?.glibcVersionRuntime;
  const file = join(here, '..', 'prebuilds', `${process.platform}-${process.arch}`, `corosync_ts_ipc.${glibc ? 'glibc' : 'musl'}.node`);
  if (!existsSync(file)) return false;
  try {
    createRequire(import.meta.url)(file);
    return true;
  } catch (e) {
    console.warn(`@corosync-ts/ipc: the prebuilt ${file} does not load here (${String(e.message).split('\n')[0]}); building from source`);
    return false;
  }
}

if (asInstallScript && prebuildLoads()) process.exit(0);

if (process.platform !== 'linux') {
  fail(`libqb IPC (abstract AF_UNIX sockets, /dev/shm rings, glibc semaphores) exists only on Linux; this is ${process.platform}.`);
}
for (const tool of ['cc', 'make', 'python3']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    fail(`'${tool}' was not found. Install a C toolchain and Python, e.g. 'apt-get install build-essential python3'.`);
  }
}

function findNodeGyp() {
  const require = createRequire(import.meta.url);
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {}
  const npmExec = process.env.npm_execpath;
  const candidates = [
    npmExec && join(dirname(npmExec), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    npmExec && join(dirname(npmExec), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
  ];
  return candidates.find((c) => c && existsSync(c));
}

const args = ['rebuild'];
const prefix = join(dirname(process.execPath), '..');
const headers = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
if (headers) args.push(`--nodedir=${headers}`);

const gyp = findNodeGyp();
// gyp's Makefile links with $(CXX) unless LINK is set; the addon is plain C.
const env = { ...process.env, LINK: process.env.LINK || process.env.CC || 'cc' };
const res = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { cwd: nativeDir, stdio: 'inherit', env })
  : spawnSync('node-gyp', args, { cwd: nativeDir, stdio: 'inherit', env });
if (res.error || res.status !== 0) {
  fail(
    'node-gyp failed (see above). It needs node-gyp (bundled with npm and pnpm), a C compiler, make, python3 ' +
      "and Node's headers (set npm_config_nodedir to a Node prefix holding include/node, or let node-gyp download them).",
  );
}
