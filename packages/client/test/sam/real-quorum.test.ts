// QUORUM policy on a real 3-node corosync 3.1.7 cluster (nstest namespaces): start() waits for
// quorum, losing quorum warns (kills) the child and RESTART brings up an instance that waits again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeReal, startCluster, waitFor, type Cluster } from '@corosync-ts/nstest';
import type { ChildProcess } from 'node:child_process';
import { fixtureArgv } from './helpers.js';

describeReal('sam QUORUM policy on a corosync 3.1.7 cluster', () => {
  let cluster: Cluster;
  let program: ChildProcess | undefined;
  const lines: Record<string, unknown>[] = [];
  let exit: { code: number | null } | undefined;

  beforeAll(async () => {
    // Node 1 alone of 3: not quorate.
    cluster = await startCluster({ nodes: 3, start: [1] });
  }, 240_000);
  afterAll(async () => {
    program?.kill('SIGKILL');
    await cluster?.close();
  });

  const state = async () => {
    const r = await cluster.node(1).exec(['corosync-cmapctl', 'resources.process.']);
    return /\.state \(str\) = (.*)$/m.exec(r.stdout)?.[1];
  };
  const seen = (pred: (l: Record<string, unknown>) => boolean) => lines.some(pred);
  const child = (what: string, instance: number) => (l: Record<string, unknown>) => l.child === what && l.instance === instance;
  const until = (what: string, fn: () => boolean | Promise<boolean>) =>
    waitFor(what, fn, { timeout: 90_000, detail: () => JSON.stringify(lines) });

  it('start blocks until quorate; quorum loss warns the child; the restarted instance waits for quorum again', async () => {
    program = cluster.node(1).spawn(fixtureArgv('quorum.ts', ['2000']), { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    program.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
      }
    });
    program.on('exit', (code) => (exit = { code }));

    await until('instance 1 waiting for quorum', async () => seen(child('starting', 1)) && (await state()) === 'waiting for quorum');
    expect(seen(child('started', 1))).toBe(false);

    await cluster.startNode(2);
    await until('instance 1 started', async () => seen(child('started', 1)) && (await state()) === 'running');

    await cluster.stopNode(2);
    await until('instance 2 waiting for quorum', async () => seen(child('starting', 2)) && (await state()) === 'waiting for quorum');
    const sup = lines.filter((l) => l.sup).map((l) => l.sup as Record<string, unknown>);
    expect(sup.map((e) => `${e.type}:${e.instanceId}`)).toEqual(['spawn:1', 'warn:1', 'exit:1', 'spawn:2']);
    // The warn signal (default SIGTERM) ended instance 1; RESTART made instance 2.
    expect(sup[2]).toMatchObject({ signal: 'SIGTERM', next: 'restart' });

    await cluster.startNode(2);
    await until('instance 2 done and supervisor gone', () => seen(child('done', 2)) && exit !== undefined);
    expect(exit!.code).toBe(0);
    // A clean quit deletes the supervisor's keys.
    expect(await state()).toBeUndefined();
  }, 400_000);
});
