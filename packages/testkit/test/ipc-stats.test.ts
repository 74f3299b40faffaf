import { encoders } from '@corosync-ts/codec-wasm';
import { connect } from '@corosync-ts/ipc';
import { describe, expect, test } from 'vitest';
import { createCluster, Faults, ManualClock, NodeServices, startMockCorosync, type FrameSink } from '../src/index.js';
import { FrameClient } from './helpers/frames.js';

// The per-connection counters of the stats map (stats.ipcs.service<id>.<pid>.<conn>.*) at the
// frame level and over IPC. What corosync 3.1.7 does with them is compared in
// real-ipc-stats.test.ts (a client that reads no events; a membership change); what corosync does
// not do deterministically (a channel that fills and drains at a chosen moment, the totem queue
// full, requests held under flow control) is checked here against its source (exec/ipc_glue.c,
// libqb lib/ipcs.c).

type Counters = Record<string, number | bigint | string>;

/** Every connection's stats row of a node's stats map, keyed by `<service id>.<pid>.<conn>`. */
function rows(svc: NodeServices): Map<string, Counters> {
  const map = svc.statsMap();
  const out = new Map<string, Counters>();
  for (const key of map.keys('stats.ipcs.service')) {
    const m = /^stats\.ipcs\.service(\d+\.\d+\.0x[0-9a-f]+)\.(\w+)$/.exec(key);
    if (!m) continue;
    const row = out.get(m[1]!) ?? {};
    row[m[2]!] = map.getValue(key) as number | bigint | string;
    out.set(m[1]!, row);
  }
  return out;
}

/** The one row of a service (corosync's id) in the node's stats. */
function only(svc: NodeServices, service: number): Counters {
  const r = [...rows(svc)].filter(([k]) => k.startsWith(`${service}.`));
  expect(r).toHaveLength(1);
  return r[0]![1];
}

/** A sink whose channel the test fills and drains, as a client that stops and resumes reading. */
function slowSink() {
  const waiting: number[] = [];
  const OVERHEAD = 64;
  let full = false;
  const sink: FrameSink & { full: boolean; take(n: number): void; events: number } = {
    queueOverhead: OVERHEAD,
    events: 0,
    respond: () => {},
    sendEvent: (f) => {
      sink.events++;
      if (full || waiting.length) waiting.push(f.length + OVERHEAD);
    },
    backlog: () => ({ responses: 0, events: waiting.reduce((a, b) => a + b, 0) }),
    get full() { return full; },
    set full(v: boolean) { full = v; },
    take: (n: number) => { waiting.splice(0, n); },
  };
  return sink;
}

describe('stats counters at the frame level', () => {
  const setup = () => {
    const clock = new ManualClock();
    const cluster = createCluster({ clock, nodes: 3 });
    const faults = new Faults(clock);
    const svc = new NodeServices(cluster.node(1), { faults });
    return { clock, cluster, faults, svc };
  };
  const track = (c: ReturnType<NodeServices['connect']>) =>
    c.handle(encoders.cmap.req.trackAdd({ keyName: 'k.', trackType: 4 | 2 | 8, trackInstHandle: 1n }));

  test('queueing, queued, sent, dispatched, send_retries follow msg_send_or_queue and outq_flush', () => {
    const { cluster, svc } = setup();
    const sink = slowSink();
    const quiet = svc.connect('cmap', sink, { pid: 4242, uid: 0, gid: 0 });
    track(quiet);
    const set = (v: number) => cluster.node(1).cmap.set('k.a', 6, v);
    set(1);
    set(2);
    // sent counts straight sends while nothing waits
    expect(only(svc, 0)).toMatchObject({ dispatched: 2n, sent: 2, queued: 0, queueing: 0, send_retries: 0n });
    sink.full = true;
    for (let v = 3; v <= 7; v++) set(v);
    // the first event that did not fit starts queueing (sent from 0), the later ones wait behind it
    expect(only(svc, 0)).toMatchObject({ dispatched: 2n, sent: 0, queued: 5, queueing: 1, send_retries: 5n });
    sink.full = false;
    sink.take(2);
    expect(only(svc, 0)).toMatchObject({ dispatched: 4n, sent: 2, queued: 3, queueing: 1, send_retries: 5n });
    sink.take(3);
    // the queue is empty: its counters start again
    expect(only(svc, 0)).toMatchObject({ dispatched: 7n, sent: 0, queued: 0, queueing: 0, send_retries: 5n });
    set(8);
    expect(only(svc, 0)).toMatchObject({ dispatched: 8n, sent: 1, queued: 0, queueing: 0 });
    expect(sink.events).toBe(8);
  });

  test('an answer that finds the response channel full is a send retry', () => {
    const { svc } = setup();
    let waiting = 0;
    const c = svc.connect('quorum', { respond: () => { waiting += 100; }, sendEvent: () => {}, backlog: () => ({ responses: waiting, events: 0 }) });
    c.handle(encoders.quorum.req.getquorate({}));
    expect(only(svc, 3)).toMatchObject({ requests: 1n, responses: 1n, send_retries: 1n });
  });

  test('totem queue full: a flow-controlled request is refused with TRY_AGAIN and counts as overload; MCAST is dropped, also counted', () => {
    const { cluster, svc } = setup();
    const cpg = new FrameClient('cpg', svc);
    const cfg = new FrameClient('cfg', svc);
    cluster.node(1).cpg.flowControl = true;
    expect(cpg.call(encoders.cpg.req.join({ groupName: 'g', pid: 1, flags: 0 }))).toMatchObject({ id: 0, size: 24, error: 6 });
    cpg.conn.handle(encoders.cpg.req.mcastJoined({ guarantee: 2, message: new Uint8Array(3) }));
    expect(cpg.responses).toHaveLength(1);
    // cfg's lib_engine marks tryShutdown flow-controlled, localGet not (corosync_sending_allowed is per request)
    expect(cfg.call(encoders.cfg.req.tryShutdown({ flags: 0 }))).toMatchObject({ id: 0, error: 6 });
    expect(cfg.call(encoders.cfg.req.localGet({})).error).toBe(1);
    expect(only(svc, 2)).toMatchObject({ requests: 2n, responses: 1n, overload: 2n });
    expect(only(svc, 1)).toMatchObject({ requests: 2n, responses: 2n, overload: 1n });
  });

  test('a membership change is a sync: flow control on and off (count +2) on every connection but votequorum\'s', () => {
    const { cluster, svc } = setup();
    new FrameClient('cmap', svc);
    new FrameClient('votequorum', svc);
    new FrameClient('cpg', svc);
    cluster.node(3).kill();
    expect(only(svc, 0)).toMatchObject({ flow_control: 0, flow_control_count: 2n });
    expect(only(svc, 2)).toMatchObject({ flow_control: 0, flow_control_count: 2n });
    expect(only(svc, 5)).toMatchObject({ flow_control: 0, flow_control_count: 0n });
    cluster.node(3).start();
    expect(only(svc, 0)).toMatchObject({ flow_control_count: 4n });
  });

  test('stats.ipcs.global: active connections, and closed ones since the daemon started', () => {
    const { cluster, svc } = setup();
    const a = new FrameClient('cmap', svc);
    new FrameClient('quorum', svc);
    a.conn.close();
    const g = () => [svc.statsMap().getValue('stats.ipcs.global.active'), svc.statsMap().getValue('stats.ipcs.global.closed')];
    expect(g()).toEqual([1n, 1n]);
    cluster.node(1).kill();
    expect(g()).toEqual([0n, 2n]);
    cluster.node(1).start();
    expect(g()).toEqual([0n, 0n]);
  });
});

for (const transport of ['socket', 'shm'] as const) {
  describe(`stats counters over ${transport}`, () => {
    test('requests held under flow control are not read (nor counted) until it is lifted; level and changes are counted', async () => {
      await using mock = await startMockCorosync({ nodes: 1, transport });
      const svc = mock.endpoint().services;
      const c = await connect(mock.endpoint().names.quorum);
      try {
        await c.request(encoders.quorum.req.getquorate({}));
        const fc = mock.faults.flowControl({ service: 'quorum', level: 2 });
        expect(only(svc, 3)).toMatchObject({ requests: 1n, flow_control: 2, flow_control_count: 1n });
        // level 2 stops only libcpg's sends: this request goes out and waits in the mock
        let answered = false;
        const p = c.request(encoders.quorum.req.getquorate({})).then((f) => { answered = true; return f; });
        await new Promise((r) => setTimeout(r, 50));
        expect(answered).toBe(false);
        expect(only(svc, 3)).toMatchObject({ requests: 1n });
        fc.remove();
        expect((await p).length).toBeGreaterThan(0);
        expect(only(svc, 3)).toMatchObject({ requests: 2n, responses: 2n, flow_control: 0, flow_control_count: 2n });
        expect(fc.hits).toBe(1);
      } finally {
        await c.close();
      }
    });
  });
}
