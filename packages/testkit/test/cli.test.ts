import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, createServer } from '@corosync-ts/ipc';
import { decode, encoders } from '@corosync-ts/codec-wasm';
import { crashTraceEnv, run as runChild } from '@corosync-ts/nstest';
import { afterAll, expect, test } from 'vitest';
import { startMockCorosync } from '../src/index.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const PKG = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'corosync-mock-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => runChild([process.execPath, '--import', 'tsx', CLI, ...args], { cwd: PKG, timeout: 60_000 });

test('a bad corosync.conf: corosync-style message with file and line, exit 8, nothing bound', async () => {
  const conf = join(dir, 'bad.conf');
  writeFileSync(conf, 'totem {\n  version: 2\n  token: soon\n}\n');
  const r = await run(['--config', conf, '--prefix', `cli-bad-${process.pid}-`]);
  expect(r.code).toBe(8);
  expect(r.stderr).toBe(`corosync-mock: parser error: ${conf}:3: Value of key "totem.token" is expected to be integer in range (0..4294967295), but "soon" was given\n`);
}, 120_000);

test('--help and argument errors', async () => {
  const help = (await run(['--help'])).stdout;
  expect(help).toMatch(/^usage: corosync-mock/);
  // it names every service the daemon serves
  const mock = await startMockCorosync({ nodes: 1 });
  try {
    const served = help.match(/^Serves corosync's ([^(]*) IPC services/m)?.[1]?.split(/,? (?:and )?/);
    expect(served?.sort()).toEqual(Object.keys(mock.endpoint().names).sort());
  } finally {
    await mock.close();
  }
  const r = await run(['--nodes', '3', '--local', '9']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/--local 9: no such node/);
}, 120_000);

test('--version prints the package version and exits 0; an unknown option exits 1', async () => {
  const { version } = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await run([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`corosync-mock ${version}\n`);
  }
  expect((await run(['--help'])).stdout).toMatch(/Exit status: 0 after SIGTERM/);
  const bad = await run(['--bogus']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/^corosync-mock: Unknown option '--bogus'/);
}, 120_000);

/** corosync-mock as a child, serving: what it printed so far, its exit, and a wait for a line. */
async function startCli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: PKG, stdio: ['pipe', 'pipe', 'pipe'], env: await crashTraceEnv() });
  const io = { err: '', out: '' };
  child.stderr.setEncoding('utf8').on('data', (d: string) => { io.err += d; });
  child.stdout.setEncoding('utf8').on('data', (d: string) => { io.out += d; });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  /** Until `re` matches what it printed on stderr or stdout (25 ms steps, 30 s at most). */
  const until = async (stream: 'err' | 'out', re: RegExp) => {
    for (let i = 0; i < 1200 && !re.test(io[stream]); i++) await new Promise((r) => setTimeout(r, 25));
  };
  await until('err', /serving/);
  return { child, io, exited, until };
}

test('serves under --prefix until SIGTERM, takes commands on stdin, exits 0', async () => {
  const prefix = `cli-ok-${process.pid}-`;
  const { child, io, exited, until } = await startCli(['--nodes', '3', '--prefix', prefix, '--transport', 'socket']);
  expect(io.err).toMatch(new RegExp(`node 1 serving ${prefix}cmap ${prefix}quorum ${prefix}votequorum ${prefix}cfg ${prefix}cpg \\(socket\\)`));
  const q = await connect(`${prefix}quorum`);
  expect(decode(await q.request(encoders.quorum.req.getquorate({})), { service: 'quorum', dir: 'res' }).fields).toEqual({ quorate: 1 });
  child.stdin.write('down 2\ndown 3\nshow\n');
  await until('out', /1:? q=0|0:1: q=0/);
  expect(io.out).toMatch(/OK down 2\nOK down 3\n0:1: q=0 ring=\[1\.[0-9a-f]+\] nodes=\[1\]\n/);
  expect(decode(await q.request(encoders.quorum.req.getquorate({})), { service: 'quorum', dir: 'res' }).fields).toEqual({ quorate: 0 });
  const gone = new Promise((r) => q.once('disconnect', r));
  child.kill('SIGTERM');
  expect(await exited, io.err).toBe(0);
  await gone;
  await q.close();
}, 120_000);

test('--capture: stopped by SIGTERM or SIGINT, the mock stops as usual (exit 0) and its capture ends closed; SIGHUP kills it and its capture ends by the signal', async () => {
  const stop = async (sig: NodeJS.Signals) => {
    const prefix = `cli-cap-${sig}-${process.pid}-`;
    const file = join(dir, `${sig}.jsonl`);
    const { child, io } = await startCli(['--nodes', '1', '--prefix', prefix, '--transport', 'socket', '--capture', file]);
    const q = await connect(`${prefix}quorum`);
    await q.request(encoders.quorum.req.getquorate({}));
    const ended = new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
    child.kill(sig);
    const status = await ended;
    await q.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    return { status, stderr: io.err, dirs: lines.filter((l) => l.hex).map((l) => l.dir), end: lines.at(-1) };
  };
  const [term, int, hup] = await Promise.all([stop('SIGTERM'), stop('SIGINT'), stop('SIGHUP')]);
  for (const r of [term, int]) {
    expect(r.status, r.stderr).toEqual([0, null]);
    expect(r.dirs).toEqual(['setup', 'setup', 'req', 'res']);
    expect(r.end).toMatchObject({ frames: 4, by: 'close' });
  }
  expect(hup.status, hup.stderr).toEqual([null, 'SIGHUP']);
  expect(hup.dirs).toEqual(['setup', 'setup', 'req', 'res']);
  expect(hup.end).toMatchObject({ frames: 4, by: 'signal', signal: 'SIGHUP' });
}, 120_000);

test('an error caught inside the mock (here: its servers cannot listen again) is written to stderr', async () => {
  const prefix = `cli-err-${process.pid}-`;
  const { child, io, exited, until } = await startCli(['--nodes', '1', '--prefix', prefix, '--transport', 'socket']);
  expect(io.err).toMatch(/serving/);
  // the node down closes its servers; the name taken meanwhile makes the node's restart fail to
  // listen, which the mock keeps serving through and only its log can tell
  child.stdin.write('down 1\n');
  await until('out', /OK down 1\n/);
  const squatter = createServer(`${prefix}cmap`, { transport: 'socket' });
  await squatter.listen();
  child.stdin.write('up 1\n');
  await until('err', /corosync-mock: error: /);
  await squatter.close();
  expect(io.err).toMatch(new RegExp(`corosync-mock: error: \\S*Error: [^\\n]*listen on abstract socket @${prefix}cmap`));
  child.kill('SIGTERM');
  expect(await exited, io.err).toBe(0);
}, 120_000);

// corosync's -r (its default): SCHED_RR at priority 99 when the kernel allows it, else a warning
// and normal scheduling. Read from /proc/<pid>/task/<tid>/stat: rt_priority (field 40) and policy (41).
const isRoot = process.geteuid?.() === 0;
const schedOf = (pid: number, tid = pid) => {
  const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { priority: Number(f[37]), policy: Number(f[38]) };
};
// Every thread, not only the serving one: V8's GC and compiler workers, started before any JS
// runs, are threads the serving thread waits for.
const threadSchedsOf = (pid: number) => new Set(readdirSync(`/proc/${pid}/task`).map((tid) => JSON.stringify(schedOf(pid, Number(tid)))));
const SCHED_OTHER = 0;
const SCHED_RR = 2;

async function startRr(prefix: string, wrap: string[]) {
  const child = spawn(wrap[0] ?? process.execPath, [...wrap.slice(1), ...(wrap.length ? [process.execPath] : []), '--import', 'tsx', CLI, '--rr', '--nodes', '1', '--prefix', prefix, '--transport', 'socket'], { cwd: PKG, stdio: ['ignore', 'ignore', 'pipe'], env: await crashTraceEnv() });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  for (let i = 0; i < 1200 && !/serving|exited/.test(err) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
  expect(err).toMatch(/serving/);
  // the wrappers exec: the pid is node's
  const sched = schedOf(child.pid!);
  const threads = threadSchedsOf(child.pid!);
  const q = await connect(`${prefix}quorum`);
  expect(decode(await q.request(encoders.quorum.req.getquorate({})), { service: 'quorum', dir: 'res' }).fields).toEqual({ quorate: 1 });
  await q.close();
  child.kill('SIGTERM');
  return { sched, threads, stderr: err, status: await exited };
}

// Root is what the namespace tests need anyway; under CI=true a missing one is a failure.
test.skipIf(!isRoot && process.env.CI !== 'true')('--rr: every thread of the mock runs SCHED_RR 99 when permitted, as corosync\'s do', async () => {
  const r = await startRr(`cli-rr-${process.pid}-`, []);
  expect(r.sched).toEqual({ policy: SCHED_RR, priority: 99 });
  expect([...r.threads]).toEqual([JSON.stringify({ priority: 99, policy: SCHED_RR })]);
  expect(r.stderr).not.toMatch(/warning/);
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

test.skipIf(!isRoot && process.env.CI !== 'true')('--rr without CAP_SYS_NICE: corosync\'s warning, normal scheduling, serving all the same', async () => {
  // the capability out of the bounding set (root gets no more than it) and no RLIMIT_RTPRIO either
  const r = await startRr(`cli-norr-${process.pid}-`, ['setpriv', '--bounding-set=-sys_nice', '--', 'prlimit', '--rtprio=0', '--']);
  expect(r.stderr).toMatch(/^corosync-mock: warning: Could not set SCHED_RR at priority 99: EPERM \(1\)\n/);
  expect(r.sched).toEqual({ policy: SCHED_OTHER, priority: 0 });
  expect([...r.threads]).toEqual([JSON.stringify({ priority: 0, policy: SCHED_OTHER })]);
  expect(r.status, r.stderr).toBe(0);
}, 120_000);
