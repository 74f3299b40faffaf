import { compileC, describeReal, startCluster, startNamespace, type Cluster, type Namespace } from '@corosync-ts/nstest';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { oneNodeConf, startMockIn, startRealAndMock, stopRealAndMock, type MockProcess } from './helpers/mockns.js';

// What makes the per-connection counters of the stats map (stats.ipcs.*) move, on corosync 3.1.7
// and on corosync-mock from the same corosync.conf: one C program (fixtures/ipc-stats.c) reads its
// own connections' rows through libcmap on both. Numbers that depend on timing (how many events a
// channel holds, how often corosync retried) are compared as relations, the rest exactly.

const SRC = readFileSync(new URL('./fixtures/ipc-stats.c', import.meta.url), 'utf8');

const conf = (transport: string) => oneNodeConf('stats', transport);

type Row = Record<string, number> & { requests: number; dispatched: number; queued: number; send_retries: number };

/** The rows of one label ("before", "after", "now"): the connections by service then requests, and the global line. */
function parse(out: string, label: string): { conns: Row[]; global: Row } {
  const conns: Row[] = [];
  let global: Row | undefined;
  for (const line of out.split('\n')) {
    const [l, kind, ...rest] = line.split(' ');
    if (l !== label) continue;
    const row = Object.fromEntries([kind!, ...rest].filter((kv) => kv.includes('=')).map((kv) => [kv.split('=')[0]!, Number(kv.split('=')[1])])) as Row;
    if (kind === 'global') global = row;
    else conns.push(row);
  }
  if (global === undefined) throw new Error(`no ${label} rows in:\n${out}`);
  return { conns, global };
}

const N = 30_000;

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`ipc stats over ${transport}: corosync 3.1.7 vs corosync-mock`, () => {
    let real: Namespace;
    let mockNs: Namespace;
    let mock: MockProcess;
    let bin: string;
    beforeAll(async () => {
      bin = await compileC(SRC, ['cmap', 'votequorum']);
      ({ real, mockNs, mock } = await startRealAndMock({ real: `tk-sreal-${transport}`, mock: `tk-smock-${transport}` }, conf(transport)));
    }, 180_000);
    afterAll(() => stopRealAndMock({ mock, mockNs, real }), 60_000);

    test(`a client that reads none of ${N} events: queueing, queued, sent, dispatched, send_retries move alike`, async () => {
      const [r, m] = await Promise.all([real.exec([bin, 'slow', String(N)], { timeout: 120_000 }), mockNs.exec([bin, 'slow', String(N)], { timeout: 120_000 })]);
      for (const [who, out] of [['corosync', r.stdout + r.stderr], ['mock', m.stdout + m.stderr]] as const) {
        expect({ who, events: /events=(\d+) dispatch=1\n/.exec(out)?.[1] }).toEqual({ who, events: String(N) });
        const before = parse(out, 'before');
        const after = parse(out, 'after');
        // the quiet tracker (1 request), the stats reader, the writer (N sets)
        expect(before.conns.map((c) => c.service)).toEqual([0, 0, 0]);
        const [quiet, stats, writer] = before.conns as [Row, Row, Row];
        // the channel filled: the rest waits in the daemon, none of it sent yet
        expect({ who, requests: quiet.requests, queueing: quiet.queueing, sent: quiet.sent }).toEqual({ who, requests: 1, queueing: 1, sent: 0 });
        expect(quiet.queued).toBeGreaterThan(N / 2);
        expect(quiet.dispatched + quiet.queued).toBe(N);
        // a failed send at least for every event that had to wait
        expect(quiet.send_retries).toBeGreaterThanOrEqual(quiet.queued);
        expect({ who, ...writer }).toEqual({
          who, service: 0, requests: N, responses: N, dispatched: 0, queued: 0, queueing: 0, sent: 0, send_retries: 0,
          recv_retries: 0, flow_control: 0, flow_control_count: 0, overload: 0, invalid_request: 0,
        });
        expect(stats.requests).toBe(stats.responses);
        expect(before.global.active).toBe(3);
        // all taken: the queue is gone and its counters start again
        const [quietAfter] = after.conns as [Row];
        expect({ who, ...quietAfter }).toEqual({
          who, service: 0, requests: 1, responses: 1, dispatched: N, queued: 0, queueing: 0, sent: 0,
          send_retries: quietAfter.send_retries, recv_retries: 0, flow_control: 0, flow_control_count: 0, overload: 0, invalid_request: 0,
        });
        expect(quietAfter.send_retries).toBeGreaterThanOrEqual(quiet.send_retries);
      }
      // how much one channel holds is the same for both: libqb's ring and socket sizes
      const q = (out: string) => parse(out, 'before').conns[0]!;
      expect(q(m.stdout).dispatched).toBe(q(r.stdout).dispatched);
    }, 240_000);
  });
}

interface Idle { child: ChildProcess; rows(): Promise<{ conns: Row[]; global: Row }> }

async function idle(ns: Namespace): Promise<Idle> {
  const child = ns.spawn([bin3Path(), 'idle'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const until = async (ok: () => boolean, what: string) => {
    const t0 = Date.now();
    while (!ok()) {
      if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`ipc-stats idle: no ${what}: ${out}${err} (exit ${String(child.exitCode)})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until(() => out.startsWith('ready\n'), 'ready');
  return {
    child,
    async rows() {
      const mark = out.length;
      child.stdin!.write('\n');
      await until(() => /now global [^\n]*\n/.test(out.slice(mark)), 'rows');
      return parse(out.slice(mark), 'now');
    },
  };
}

let bin3: string | undefined;
const bin3Path = () => bin3!;

describeReal('ipc stats across a membership change: a real 3-node cluster vs corosync-mock', () => {
  let real: Cluster | undefined;
  let mockNs: Namespace | undefined;
  let mock: MockProcess | undefined;
  const procs: ChildProcess[] = [];
  afterAll(async () => {
    for (const p of procs) p.kill();
    await mock?.stop();
    await mockNs?.close();
    await real?.close();
  }, 120_000);

  test('every connection but votequorum\'s goes under flow control for the sync: flow_control_count +2, flow_control back to 0', async () => {
    bin3 = await compileC(SRC, ['cmap', 'votequorum']);
    real = await startCluster({ nodes: 3, totem: { token: 1000 } });
    mockNs = await startNamespace({ name: 'tk-smock-cluster' });
    mock = await startMockIn(mockNs, real.node(1).corosyncProcess!.conf, ['--up', 'all']);
    const onReal = await idle(real.node(1));
    const onMock = await idle(mockNs);
    procs.push(onReal.child, onMock.child);
    const counts = async (p: Idle) => (await p.rows()).conns.map((c) => ({ service: c.service, fc: c.flow_control, count: c.flow_control_count }));
    // the stats reader (cmap, service 0) and the votequorum connection (service 5)
    const quiet = [{ service: 0, fc: 0, count: 0 }, { service: 5, fc: 0, count: 0 }];
    expect(await counts(onReal)).toEqual(quiet);
    expect(await counts(onMock)).toEqual(quiet);
    await real.stopNode(3);
    await real.waitForPartitions([[1, 2]]);
    await mock.command('down 3');
    const synced = [{ service: 0, fc: 0, count: 2 }, { service: 5, fc: 0, count: 0 }];
    expect(await counts(onReal)).toEqual(synced);
    expect(await counts(onMock)).toEqual(synced);
  }, 300_000);
});
