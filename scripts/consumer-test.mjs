// The packages as a new user gets them: packs the five packages (as `changeset publish` would:
// real versions, no workspace: ranges), installs the tarballs with npm and with pnpm 10 into a fresh
// project outside the workspace with no compiler on PATH, then, in that project, typechecks every
// README code block and runs each one against corosync-mock serving the real IPC names in a private
// network namespace (root and unshare needed): npm's install on every Node given, pnpm's on the first.
//
//   node scripts/consumer-test.mjs [--keep] [NODE_BINARY...]     (default: the running Node)
// Closes with "N passed, N failed"; exits 1 on any failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { allCodeBlocks, root } from './readme-blocks.mjs';

const PACKAGES = ['types', 'codec-wasm', 'ipc', 'client', 'testkit'];
const PNPM10 = 'pnpm@10.18.3';
// What a consumer project of the READMEs needs besides our packages (same versions as the workspace).
const DEV_DEPS = { typescript: '5.9.3', '@types/node': '20.19.43', tsx: '4.20.6', vitest: '3.2.4' };

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const nodes = args.filter((a) => !a.startsWith('--'));
if (nodes.length === 0) nodes.push(process.execPath);

const work = mkdtempSync(join(tmpdir(), 'corosync-ts-consumer-'));
let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${!ok && detail ? `\n${String(detail).trim().replace(/^/gm, '     ')}` : ''}`);
}
function sh(cmd, argv, opts = {}) {
  return spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
}

// ---------------------------------------------------------------- pack
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
for (const p of PACKAGES) {
  const r = sh('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(root, 'packages', p) });
  if (r.status !== 0) {
    console.error(r.stdout, r.stderr);
    throw new Error(`pnpm pack failed in packages/${p}`);
  }
}
const tgz = Object.fromEntries(
  readdirSync(tarballs).map((f) => [f.replace(/^corosync-ts-(.*)-\d+\.\d+\.\d+.*\.tgz$/, '$1'), join(tarballs, f)]),
);
for (const p of PACKAGES) {
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tgz[p], 'package/package.json'], { encoding: 'utf8' }));
  const files = execFileSync('tar', ['-tzf', tgz[p]], { encoding: 'utf8' }).split('\n');
  const ranges = Object.values({ ...manifest.dependencies, ...manifest.peerDependencies });
  check(`${p}: packed with real versions (${manifest.version}), no workspace: ranges`, /^\d+\.\d+\.\d+/.test(manifest.version) && !ranges.some((r) => r.startsWith('workspace:')), JSON.stringify(manifest.dependencies));
  check(`${p}: metadata, engines, LICENSE, ./package.json export`,
    Boolean(manifest.repository?.url && manifest.homepage && manifest.bugs?.url && manifest.keywords?.length && manifest.engines?.node && manifest.exports['./package.json'] && files.includes('package/LICENSE') && files.includes('package/README.md')));
  if (p === 'codec-wasm') {
    // The README links both, and tools that validate captures need the schema beside the reader.
    check('codec-wasm: ships the capture format and its JSON Schema', files.includes('package/capture/FORMAT.md') && files.includes('package/capture/capture.schema.json'));
  }
  if (p === 'ipc') {
    for (const bin of ['linux-x64/corosync_ts_ipc.glibc.node', 'linux-arm64/corosync_ts_ipc.glibc.node', 'linux-x64/corosync_ts_ipc.musl.node']) {
      check(`ipc: ships prebuilds/${bin}`, files.includes(`package/prebuilds/${bin}`));
    }
  }
}

// ---------------------------------------------------------------- a PATH with node and the package managers only
const bin = join(work, 'bin');
mkdirSync(bin);
const pnpmPrefix = join(work, 'pnpm10');
const pi = sh('npm', ['install', '--prefix', pnpmPrefix, '--no-audit', '--no-fund', '--no-save', PNPM10]);
if (pi.status !== 0) throw new Error(`installing ${PNPM10} failed: ${pi.stderr}`);
symlinkSync(process.execPath, join(bin, 'node'));
const npmCli = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin');
symlinkSync(join(npmCli, 'npm-cli.js'), join(bin, 'npm'));
symlinkSync(join(npmCli, 'npx-cli.js'), join(bin, 'npx'));
symlinkSync(join(pnpmPrefix, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs'), join(bin, 'pnpm'));
symlinkSync('/bin/sh', join(bin, 'sh'));
const env = { ...process.env, PATH: bin, CI: 'true', npm_config_update_notifier: 'false' };
for (const k of Object.keys(env)) if (k.startsWith('npm_') && k !== 'npm_config_update_notifier') delete env[k];
check('the consumer PATH has no compiler', ['cc', 'gcc', 'g++', 'make', 'python3'].every((t) => sh('sh', ['-c', `command -v ${t}`], { env }).status !== 0));

// ---------------------------------------------------------------- the README blocks
const blocks = allCodeBlocks();
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022', lib: ['ES2022', 'ESNext.Disposable'], module: 'NodeNext', moduleResolution: 'NodeNext',
    strict: true, noEmit: true, skipLibCheck: false, types: ['node'], allowJs: true, checkJs: true,
  },
  include: ['blocks'],
};

function project(pm) {
  const dir = join(work, `${pm}-project`);
  mkdirSync(join(dir, 'blocks'), { recursive: true });
  const ours = Object.fromEntries(PACKAGES.map((p) => [`@corosync-ts/${p}`, `file:${tgz[p]}`]));
  // Our packages depend on each other by version; until they are published, point those at the tarballs.
  const pkg = { name: `consumer-${pm}`, private: true, type: 'module', dependencies: ours, devDependencies: DEV_DEPS, overrides: ours, pnpm: { overrides: ours } };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  for (const b of blocks) writeFileSync(join(dir, 'blocks', `${b.name}${b.usesVitest ? '.test' : ''}.${b.lang === 'ts' ? 'ts' : 'mjs'}`), b.code);
  // d.ts files must bring their own Node types: a project that lists none still compiles an import.
  mkdirSync(join(dir, 'notypes'));
  writeFileSync(join(dir, 'notypes', 'import.ts'), PACKAGES.map((p, i) => `export * as p${i} from '@corosync-ts/${p}';\n`).join(''));
  writeFileSync(join(dir, 'tsconfig.notypes.json'), JSON.stringify({ compilerOptions: { ...TSCONFIG.compilerOptions, types: [] }, include: ['notypes'] }));
  return dir;
}

/** Starts corosync-mock with the real names in a private network namespace and runs `cmds` there. */
const NS_RUNNER = `
import { spawn, spawnSync } from 'node:child_process';
const [mockBin, ...jobs] = JSON.parse(process.argv[2]);
spawnSync('ip', ['link', 'set', 'lo', 'up']);
const mock = spawn(process.execPath, [mockBin, '--nodes', '3'], { stdio: ['pipe', 'ignore', 'pipe'] });
let err = '';
await new Promise((resolve, reject) => {
  mock.stderr.on('data', (d) => { err += d; if (/serving/.test(err)) resolve(); });
  mock.on('exit', (c) => reject(new Error('corosync-mock exited ' + c + ': ' + err)));
});
const results = [];
for (const [cmd, ...argv] of jobs) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 120000 });
  results.push({ status: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error?.message });
}
mock.kill('SIGTERM');
await new Promise((r) => mock.on('exit', r));
console.log(JSON.stringify(results));
`;

const unshare = ['/usr/bin/unshare', '/bin/unshare'].find(existsSync);
const ip = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find(existsSync);

// Every subpath of every exports map, as packed.
const subpaths = PACKAGES.flatMap((p) => Object.keys(JSON.parse(execFileSync('tar', ['-xzOf', tgz[p], 'package/package.json'], { encoding: 'utf8' })).exports)
  .filter((k) => k !== './package.json').map((k) => `@corosync-ts/${p}${k.slice(1)}`));

for (const pm of ['npm', 'pnpm']) {
  const dir = project(pm);
  const inst = pm === 'npm'
    ? sh(join(bin, 'npm'), ['install', '--no-audit', '--no-fund'], { cwd: dir, env })
    : sh(join(bin, 'pnpm'), ['install', '--config.confirmModulesPurge=false'], { cwd: dir, env });
  check(`${pm}: installs the tarballs without a compiler`, inst.status === 0, inst.stderr + inst.stdout);
  if (inst.status !== 0) continue;
  const ipcDir = join(dir, 'node_modules', '@corosync-ts', 'ipc');
  check(`${pm}: no source build happened (the prebuilt addon is used)`, !existsSync(join(ipcDir, 'native', 'build')));
  const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  const tc = sh(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, env });
  check(`${pm}: every README code block typechecks (${blocks.length} blocks, strict, skipLibCheck off)`, tc.status === 0, tc.stdout + tc.stderr);
  const nt = sh(process.execPath, [tsc, '-p', 'tsconfig.notypes.json'], { cwd: dir, env });
  check(`${pm}: the client's types compile in a project that lists no @types`, nt.status === 0, nt.stdout + nt.stderr);
  // A CommonJS TypeScript project on the old resolution (`"module": "commonjs"` implies node10),
  // which ignores exports maps: the subpaths' types come from typesVersions there.
  mkdirSync(join(dir, 'node10'));
  writeFileSync(join(dir, 'node10', 'import.ts'), subpaths.map((s, i) => `import * as s${i} from '${s}';\nexport { s${i} };\n`).join(''));
  writeFileSync(join(dir, 'tsconfig.node10.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', lib: ['ES2022', 'ESNext.Disposable'], module: 'commonjs', moduleResolution: 'node10', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
    include: ['node10'],
  }));
  const n10 = sh(process.execPath, [tsc, '-p', 'tsconfig.node10.json'], { cwd: dir, env });
  check(`${pm}: every exports entry has types under node10 resolution (a CommonJS TypeScript project)`, n10.status === 0, n10.stdout + n10.stderr);

  // The install is the same for every Node; npm's runs on each, pnpm's layout on the first.
  for (const node of pm === 'npm' ? nodes : nodes.slice(0, 1)) {
    const version = sh(node, ['--version']).stdout.trim();
    const esm = sh(node, ['--input-type=module', '-e', `
      for (const p of ${JSON.stringify(PACKAGES)}) await import('@corosync-ts/' + p);
      const { cmap } = await import('@corosync-ts/client');
      const e = await cmap.initialize({ ipcPrefix: 'consumer-none-' + process.pid }).catch((e) => e);
      console.log(e.csName);`], { cwd: dir, env });
    check(`${pm} ${version}: every package imports; a call with nothing listening rejects CS_ERR_LIBRARY`,
      esm.status === 0 && esm.stdout === 'CS_ERR_LIBRARY\n', esm.stdout + esm.stderr);
    // Every subpath of every exports map, as installed (the bundler writes one file per entry point,
    // some of them re-exports of the main entry): each resolves to a file, and each imports and
    // exports something, except testkit's vitest helpers, which only load inside a vitest run.
    const entries = sh(node, ['--input-type=module', '-e', `
      for (const s of ${JSON.stringify(subpaths)}) {
        const file = (await import('node:fs')).existsSync(new URL(import.meta.resolve(s)));
        console.log(s, file && (s === '@corosync-ts/testkit/vitest' || Object.keys(await import(s)).length > 0));
      }`], { cwd: dir, env });
    check(`${pm} ${version}: every exports entry imports (${subpaths.length}: ${subpaths.filter((s) => s.split('/').length > 2).join(', ')})`,
      entries.status === 0 && entries.stdout === subpaths.map((s) => `${s} true\n`).join(''), entries.stdout + entries.stderr);
    // CommonJS: require() of each entry (Node 20.19+ loads an ES module graph without top-level
    // await synchronously) gives import()'s very module, without a warning.
    const requirable = subpaths.filter((s) => s !== '@corosync-ts/testkit/vitest');
    const required = sh(node, ['--input-type=commonjs', '-e', `
      (async () => {
        for (const s of ${JSON.stringify(requirable)}) {
          const m = require(s);
          console.log(s, m === (await import(s)) && Object.keys(m).length > 0);
        }
        const e = await require('@corosync-ts/client').cmap.initialize({ ipcPrefix: 'consumer-none-' + process.pid }).catch((e) => e);
        console.log(require('@corosync-ts/types').isCsError(e, 2) ? 'typed' : e);
      })();`], { cwd: dir, env });
    const wantRequired = requirable.map((s) => `${s} true\n`).join('') + 'typed\n';
    check(`${pm} ${version}: every exports entry require()s from CommonJS, import()'s module, no warning`,
      required.status === 0 && required.stdout === wantRequired && required.stderr === '', required.stdout + required.stderr);
    const jobs = blocks.map((b) => {
      const file = join(dir, 'blocks', `${b.name}${b.usesVitest ? '.test' : ''}.${b.lang === 'ts' ? 'ts' : 'mjs'}`);
      if (b.usesVitest) return [node, join(dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', dir, file];
      return b.lang === 'ts' ? [node, '--import', 'tsx', file] : [node, file];
    });
    writeFileSync(join(dir, 'ns-runner.mjs'), NS_RUNNER);
    const r = sh(unshare, ['-n', '--', node, join(dir, 'ns-runner.mjs'), JSON.stringify([join(dir, 'node_modules', '@corosync-ts', 'testkit', 'dist', 'cli.js'), ...jobs])], {
      cwd: dir, env: { ...env, PATH: `${bin}:${dirname(ip)}` },
    });
    let results = [];
    try {
      results = JSON.parse(r.stdout.trim().split('\n').pop());
    } catch {
      check(`${pm} ${version}: the README blocks run against corosync-mock`, false, r.stdout + r.stderr);
      continue;
    }
    blocks.forEach((b, i) => {
      const res = results[i];
      const stderr = (res.stderr ?? '').replace(/^.*ExperimentalWarning.*\n?|^\(Use `node --trace-warnings.*\n?/gm, '');
      check(`${pm} ${version}: ${b.readme}:${b.line} (${b.lang}${b.usesVitest ? ', vitest' : ''}) runs against corosync-mock`, res.status === 0 && (b.usesVitest || stderr === ''), `${res.error ?? ''}${res.stdout}${res.stderr}`);
    });
  }
}

if (!keep) rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work}`);
console.log(`consumer: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
