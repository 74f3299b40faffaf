// Builds native/corosync_ts_ipc.node with node-gyp against the running Node's own
// headers (no download: N-API is ABI-stable, so one build serves Node 20, 22 and 24).
// Fails with a message that says what to install instead of a gyp stack trace.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const nativeDir = join(here, '..', 'native');

function fail(msg) {
  console.error(`\n@corosync-ts/ipc: cannot build the native addon: ${msg}\n`);
  process.exit(1);
}

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
const res = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { cwd: nativeDir, stdio: 'inherit' })
  : spawnSync('node-gyp', args, { cwd: nativeDir, stdio: 'inherit' });
if (res.error || res.status !== 0) {
  fail(
    'node-gyp failed (see above). It needs node-gyp (bundled with npm and pnpm), a C compiler, make, python3 ' +
      "and Node's headers (set npm_config_nodedir to a Node prefix holding include/node, or let node-gyp download them).",
  );
}
