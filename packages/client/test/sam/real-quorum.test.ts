// QUORUM policy on a real 3-node corosync 3.1.7 cluster (nstest namespaces): start() waits for
// quorum, losing quorum warns (kills) the child and RESTART brings up an instance that waits again.
// A C libsam program goes through the same steps first; the cmap keys seen at each step must match.
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, crashTraceEnv, describeReal, startCluster, waitFor, type Cluster } from '@corosync-ts/nstest';
import { FIXTURES, fixtureArgv, libsamReference } from './helpers.js';

type Line = Record<string, unknown>;

/** The keys with pid and timestamp taken out, as in real-cmap.test.ts. */
function normalise(dump: string): string {
  return dump
    .replace(/resources\.process\.\d+\./g, 'resources.process.<supervisor>.')
    .replace(/last_updated \(u64\) = \d+/g, 'last_updated (u64) = <ts>');
}

describeReal('sam QUORUM policy on a corosync 3.1.7 cluster', () => {
  let cluster: Cluster;
  let cBinary: string;
  const programs: ChildProcess[] = [];

  beforeAll(async () => {
    cBinary = await compileC(readFileSync(FIXTURES + 'quorum.c', 'utf8'), ['sam']);
    // Node 1 alone of 3: not quorate.
    cluster = await startCluster({ nodes: 3, start: [1] });
  }, 240_000);
  afterAll(async () => {
    for (const p of programs) p.kill('SIGKILL');
    await cluster?.close();
  });

  const dump = async () => (await cluster.node(1).exec(['corosync-cmapctl', 'resources.process.'])).stdout;
  /** The state key of this supervisor (libsam names the keys by its pid): not another program's leftover keys. */
  const state = async (pid: number) => new RegExp(`^resources\\.process\\.${pid}\\.state \\(str\\) = (.*)$`, 'm').exec(await dump())?.[1];

  /** Runs one program through the scenario; returns its lines and the cmap keys at each step. */
  async function scenario(
    argv: string[],
    quit: boolean,
  ): Promise<{ lines: Line[]; dumps: string[]; exit: { code: number | null; signal: string | null }; stderr: string }> {
    const lines: Line[] = [];
    const dumps: string[] = [];
    let exit: { code: number | null; signal: string | null } | undefined;
    // Each scenario starts from no supervisor keys: one that failed earlier (a supervisor killed
    // by a signal keeps its keys, as libsam leaves them) must not show in this one's dumps.
    await cluster.node(1).exec(['corosync-cmapctl', '-D', 'resources.process.']);
    // The supervisor that once died of SIGSEGV at process.exit (QUORUM_QUIT) says where, in its stderr.
    const p = cluster.node(1).spawn(argv, { stdio: ['ignore', 'pipe', 'pipe'], env: await crashTraceEnv() });
    programs.push(p);
    let stderr = '';
    p.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let buf = '';
    p.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) lines.push(JSON.parse(line) as Line);
      }
    });
    p.on('exit', (code, signal) => (exit = { code, signal }));
    const seen = (what: string, instance: number) => lines.some((l) => l.child === what && l.instance === instance);
    const until = (what: string, fn: () => boolean | Promise<boolean>) =>
      waitFor(what, fn, { timeout: 90_000, detail: () => `${JSON.stringify(lines)}\nstderr:\n${stderr}` });

    await until('instance 1 waiting for quorum', async () => seen('starting', 1) && (await state(p.pid!)) === 'waiting for quorum');
    expect(seen('started', 1)).toBe(false);
    dumps.push(await dump());

    await cluster.startNode(2);
    await until('instance 1 started', async () => seen('started', 1) && (await state(p.pid!)) === 'running');
    dumps.push(await dump());

    await cluster.stopNode(2);
    if (quit) {
      await until('supervisor gone after the quorum loss', () => exit !== undefined);
      dumps.push(await dump());
    } else {
      await until('instance 2 waiting for quorum', async () => seen('starting', 2) && (await state(p.pid!)) === 'waiting for quorum');
      dumps.push(await dump());

      await cluster.startNode(2);
      await until('instance 2 done and supervisor gone', () => seen('done', 2) && exit !== undefined);
      dumps.push(await dump());
      await cluster.stopNode(2);
    }
    await until('node 1 alone again', async () => (await cluster.node(1).quorumView()).length === 1);
    return { lines, dumps, exit: exit!, stderr };
  }

  it('start blocks until quorate; quorum loss warns the child; the restarted instance waits again; keys as libsam', async () => {
    const c = await libsamReference(() => scenario([cBinary, '2000', 'restart'], false), (r) => r.exit.signal);
    const t = await scenario(fixtureArgv('quorum.ts', ['2000', 'restart']), false);

    expect(c.exit, c.stderr).toEqual({ code: 0, signal: null });
    expect(t.exit, t.stderr).toEqual({ code: 0, signal: null });
    expect(t.dumps.map(normalise)).toEqual(c.dumps.map(normalise));
    expect(normalise(t.dumps[0]!)).toContain('state (str) = waiting for quorum');
    // A clean quit deletes the supervisor's keys.
    expect(t.dumps[3]).toBe('');

    const child = (r: { lines: Line[] }) => r.lines.filter((l) => l.child).map((l) => `${l.child}:${l.instance}`);
    expect(child(t)).toEqual(child(c));
    expect(child(t)).toEqual(['starting:1', 'started:1', 'starting:2', 'started:2', 'done:2']);
    const sup = t.lines.filter((l) => l.sup).map((l) => l.sup as Line);
    expect(sup.map((e) => `${e.type}:${e.instanceId}`)).toEqual(['spawn:1', 'warn:1', 'exit:1', 'spawn:2', 'exit:2']);
    // The warn signal (default SIGTERM) ended instance 1; RESTART made instance 2.
    expect(sup[2]).toMatchObject({ signal: 'SIGTERM', next: 'restart' });
  }, 600_000);

  it('QUORUM_QUIT: quorum loss ends the supervisor; the keys stay with state "failed", as libsam leaves them', async () => {
    const c = await libsamReference(() => scenario([cBinary, '2000', 'quit'], true), (r) => r.exit.signal);
    const t = await scenario(fixtureArgv('quorum.ts', ['2000', 'quit']), true);

    // WEXITSTATUS of the child the warn signal killed.
    expect(c.exit, c.stderr).toEqual({ code: 0, signal: null });
    expect(t.exit, t.stderr).toEqual({ code: 0, signal: null });
    expect(t.dumps.map(normalise)).toEqual(c.dumps.map(normalise));
    expect(normalise(t.dumps[2]!)).toContain('state (str) = failed');
    const sup = t.lines.filter((l) => l.sup).map((l) => l.sup as Line);
    expect(sup.map((e) => `${e.type}:${e.instanceId}`)).toEqual(['spawn:1', 'warn:1', 'exit:1']);
    expect(sup[2]).toMatchObject({ signal: 'SIGTERM', next: 'quit' });
  }, 600_000);
});
