import { describe, expect, test } from 'vitest';
import { createCluster, type Cluster } from '../src/cluster.js';
import { CpgIterationType, JoinState, PartialType, type CpgAddress, type CpgClient, type CpgConn } from '../src/cpg/groups.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const addr = (l: CpgAddress[]) => l.map((a) => `${a.nodeid}:${a.pid}${a.reason ? `/${a.reason}` : ''}`).join(',');

/** A client that writes down every event as one line. */
function recorder(): CpgClient & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    confchg: (g, m, l, j) => log.push(`confchg ${dec(g)} m=[${addr(m)}] l=[${addr(l)}] j=[${addr(j)}]`),
    deliver: (g, n, p, msg) => log.push(`deliver ${dec(g)} ${n}:${p} ${dec(msg)}`),
    partialDeliver: (g, n, p, len, type, frag) => log.push(`partial ${dec(g)} ${n}:${p} ${len} ${type} ${dec(frag)}`),
    totemConfchg: (ring, members) => log.push(`totem ${ring.nodeid}.${ring.seq} [${members.join(',')}]`),
  };
}

function proc(cluster: Cluster, node: number) {
  const client = recorder();
  const conn: CpgConn = cluster.cpg.node(node).connect(client);
  return { client, conn, log: client.log };
}

const run = (cluster: Cluster, fn: () => unknown) => {
  const r = fn();
  cluster.cpg.pump();
  return r;
};

describe('cpg on one node', () => {
  test('join, mcast, leave: the joiner and the leaver get their own confchgs; leave never un-joins', () => {
    const c = createCluster({ nodes: 1 });
    const a = proc(c, 1);
    expect(run(c, () => a.conn.join(enc('grpA'), 100, 0))).toBe(1);
    expect(a.conn.state).toBe(JoinState.JOIN_COMPLETED);
    run(c, () => a.conn.mcast(enc('hello-1')));
    expect(run(c, () => a.conn.join(enc('grpA'), 100, 0))).toBe(14);
    expect(run(c, () => a.conn.leave(enc('grpA'), 100))).toBe(1);
    expect(a.log).toEqual([
      'confchg grpA m=[1:100] l=[] j=[1:100/1]',
      'deliver grpA 1:100 hello-1',
      'confchg grpA m=[] l=[1:100/2] j=[]',
    ]);
    expect(a.conn.state).toBe(JoinState.LEAVE_STARTED);
    // rejoin the same group: EXIST; another group: BUSY (libcpg would spin on it); leave again: NOT_EXIST
    expect(a.conn.join(enc('grpA'), 100, 0)).toBe(14);
    expect(a.conn.join(enc('grpB'), 100, 0)).toBe(10);
    expect(a.conn.leave(enc('grpA'), 100)).toBe(12);
    // still a recipient of its old group
    const b = proc(c, 1);
    run(c, () => b.conn.join(enc('grpA'), 200, 0));
    run(c, () => b.conn.mcast(enc('x')));
    expect(a.log.slice(3)).toEqual(['confchg grpA m=[1:200] l=[] j=[1:200/1]', 'deliver grpA 1:200 x']);
  });

  test('join checks: same pid and group on another connection, too long a name, leave while joining', () => {
    const c = createCluster({ nodes: 1 });
    const a = proc(c, 1);
    const b = proc(c, 1);
    c.cpg.hold();
    expect(a.conn.join(enc('g'), 7, 0)).toBe(1);
    expect(a.conn.leave(enc('g'), 7)).toBe(10); // JOIN_STARTED
    expect(b.conn.join(enc('g'), 7, 0)).toBe(14);
    expect(b.conn.join(new Uint8Array(129), 8, 0)).toBe(13);
    expect(b.conn.leave(enc('g'), 8)).toBe(12);
    // a member in JOIN_STARTED may send; its message comes after its own join
    expect(a.conn.mcast(enc('early'))).toBe(true);
    expect(b.conn.mcast(enc('dropped'))).toBe(false);
    c.cpg.release();
    expect(a.log).toEqual(['confchg g m=[1:7] l=[] j=[1:7/1]', 'deliver g 1:7 early']);
  });

  test('exit without leave: the others see PROCDOWN; an empty name stays a member forever', () => {
    const c = createCluster({ nodes: 1 });
    const a = proc(c, 1);
    const b = proc(c, 1);
    run(c, () => a.conn.join(enc('g'), 1, 0));
    run(c, () => b.conn.join(enc('g'), 2, 0));
    run(c, () => b.conn.close());
    expect(a.log.at(-1)).toBe('confchg g m=[1:1] l=[1:2/5] j=[]');
    const e = proc(c, 1);
    run(c, () => e.conn.join(new Uint8Array(0), 3, 0));
    run(c, () => e.conn.close());
    expect(c.cpg.node(1).membership(new Uint8Array(0))).toEqual([{ nodeid: 1, pid: 3, reason: 0 }]);
    // the zombie entry makes a new join of that pid and name wait
    expect(proc(c, 1).conn.join(new Uint8Array(0), 3, 0)).toBe(6);
  });

  test('finalize detaches: no more events, and the exit still sends PROCDOWN', () => {
    const c = createCluster({ nodes: 1 });
    const a = proc(c, 1);
    const b = proc(c, 1);
    run(c, () => a.conn.join(enc('g'), 1, 0));
    run(c, () => b.conn.join(enc('g'), 2, 0));
    b.conn.finalize();
    run(c, () => a.conn.mcast(enc('m')));
    expect(b.log).toEqual(['confchg g m=[1:1,1:2] l=[] j=[1:2/1]']);
    run(c, () => b.conn.close());
    expect(a.log.at(-1)).toBe('confchg g m=[1:1] l=[1:2/5] j=[]');
  });

  test('a finalized connection still open is off the list the join checks: the same pid and group on another connection waits (6), not 14', () => {
    // corosync 3.1.7, raw IPC: FINALIZE on one connection kept open, then JOIN of its pid and
    // group on another answered 6 (its entry still listed, no PROCDOWN before the close)
    const c = createCluster({ nodes: 1 });
    const a = proc(c, 1);
    run(c, () => a.conn.join(enc('g'), 1, 0));
    a.conn.finalize();
    const b = proc(c, 1);
    expect(b.conn.join(enc('g'), 1, 0)).toBe(6);
    run(c, () => a.conn.close());
    expect(run(c, () => b.conn.join(enc('g'), 1, 0))).toBe(1);
  });

  test('an unjoined connection counts in the join check as pid 0 with the empty name: a JOIN of both is 14, even on that connection', () => {
    // corosync 3.1.7 (raw IPC, a fresh connection): JOIN {pid 0, ''} answered 14, then {pid 0, 'x'} 1
    const c = createCluster({ nodes: 1 });
    const a = proc(c, 1);
    expect(a.conn.join(new Uint8Array(0), 0, 0)).toBe(14);
    expect(run(c, () => a.conn.join(enc('x'), 0, 0))).toBe(1);
  });

  test('model v1: the initial totem confchg right after the first confchg, once', () => {
    const c = createCluster({ nodes: 1 });
    const a = proc(c, 1);
    run(c, () => a.conn.join(enc('g'), 1, 1));
    run(c, () => proc(c, 1).conn.join(enc('g'), 2, 0));
    const ring = c.node(1).ring;
    expect(a.log).toEqual(['confchg g m=[1:1] l=[] j=[1:1/1]', `totem 1.${ring.seq} [1]`, 'confchg g m=[1:1,1:2] l=[] j=[1:2/1]']);
  });

  test('iteration: groups in reverse order of appearance, members first then the rest reversed; 27 then wrap', () => {
    const c = createCluster({ nodes: 1 });
    const n = c.cpg.node(1);
    for (const pid of [8849, 8854, 8855, 8856]) run(c, () => proc(c, 1).conn.join(enc('A'), pid, 0));
    run(c, () => proc(c, 1).conn.join(enc('B'), 9000, 0));
    const all = n.iterationInitialize(CpgIterationType.ALL, new Uint8Array(0));
    const seen: string[] = [];
    for (;;) {
      const r = n.iterationNext(all);
      if (r.error !== 1) {
        expect(r.error).toBe(27);
        break;
      }
      seen.push(`${dec(r.entry!.group)}:${r.entry!.pid}`);
    }
    expect(seen).toEqual(['B:9000', 'A:8849', 'A:8856', 'A:8855', 'A:8854']);
    expect(n.iterationNext(all).entry?.pid).toBe(9000);
    const names = n.iterationInitialize(CpgIterationType.NAME_ONLY, new Uint8Array(0));
    expect([n.iterationNext(names).entry, n.iterationNext(names).entry, n.iterationNext(names).error]).toEqual([
      { group: enc('B'), nodeid: 0, pid: 0 }, { group: enc('A'), nodeid: 0, pid: 0 }, 27,
    ]);
    const one = n.iterationInitialize(CpgIterationType.ONE_GROUP, enc('nope'));
    expect(n.iterationNext(one).error).toBe(27);
    expect(n.iterationFinalize(one)).toBe(1);
    expect(n.iterationFinalize(one)).toBe(2);
    expect(n.iterationNext(one).error).toBe(2);
    expect(n.membership(enc('A')).map((m) => m.pid)).toEqual([8849, 8854, 8855, 8856]);
  });

  test('partial mcast: fragments delivered as they come; a confchg since FIRST interrupts', () => {
    const c = createCluster({ nodes: 1 });
    const a = proc(c, 1);
    run(c, () => a.conn.join(enc('g'), 1, 0));
    // its own join confchg happened after the (never sent) FIRST
    expect(a.conn.partial(6, PartialType.LAST, enc('x'))).toBe(16);
    expect(run(c, () => a.conn.partial(6, PartialType.FIRST, enc('abc')))).toBe(1);
    run(c, () => proc(c, 1).conn.join(enc('g'), 2, 0));
    expect(a.conn.partial(6, PartialType.LAST, enc('def'))).toBe(16);
    expect(a.log).toContain('partial g 1:1 6 1 abc');
    expect(proc(c, 1).conn.partial(3, PartialType.FIRST, enc('abc'))).toBe(12);
  });
});

describe('cpg across simulated nodes', () => {
  test('one total order per group on every node, the senders included', () => {
    const c = createCluster({ nodes: 3 });
    const ps = [1, 2, 3].map((n) => proc(c, n));
    ps.forEach((p, i) => run(c, () => p.conn.join(enc('g'), 10 + i, 0)));
    for (let k = 0; k < 5; k++) for (const p of ps) p.conn.mcast(enc(`${p.conn.pid}-${k}`));
    c.cpg.pump();
    const delivered = ps.map((p) => p.log.filter((l) => l.startsWith('deliver')));
    expect(delivered[0]).toHaveLength(15);
    expect(delivered[1]).toEqual(delivered[0]);
    expect(delivered[2]).toEqual(delivered[0]);
    // every node saw the same membership
    expect(ps[0]!.log[2]).toBe('confchg g m=[1:10,2:11,3:12] l=[] j=[3:12/1]');
    expect(ps[2]!.log[0]).toBe('confchg g m=[1:10,2:11,3:12] l=[] j=[3:12/1]');
  });

  test('node kill: NODEDOWN per group, then the totem confchg; restart: NODEUP', () => {
    const c = createCluster({ nodes: 3 });
    const a = proc(c, 1);
    run(c, () => a.conn.join(enc('g'), 1, 0));
    const h = proc(c, 1);
    run(c, () => h.conn.join(enc('h'), 4, 0));
    run(c, () => proc(c, 3).conn.join(enc('g'), 2, 0));
    run(c, () => proc(c, 3).conn.join(enc('g'), 3, 0));
    run(c, () => proc(c, 3).conn.join(enc('h'), 5, 0));
    a.log.length = 0;
    h.log.length = 0;
    c.node(3).kill();
    const ring = c.node(1).ring;
    expect(a.log).toEqual(['confchg g m=[1:1] l=[3:2/3,3:3/3] j=[]', `totem ${ring.nodeid}.${ring.seq} [1,2]`]);
    expect(h.log).toEqual(['confchg h m=[1:4] l=[3:5/3] j=[]', `totem ${ring.nodeid}.${ring.seq} [1,2]`]);
    expect(c.cpg.node(3).processes).toEqual([]);
    c.node(3).start();
    const n3 = proc(c, 3);
    a.log.length = 0;
    run(c, () => n3.conn.join(enc('g'), 9, 0));
    expect(a.log).toEqual(['confchg g m=[1:1,3:9] l=[] j=[3:9/1]']);
  });

  test('a clean stop (SIGTERM, cfg shutdown) is PROCDOWN for its processes, not NODEDOWN', () => {
    const c = createCluster({ nodes: 3 });
    const a = proc(c, 1);
    run(c, () => a.conn.join(enc('g'), 1, 0));
    run(c, () => proc(c, 2).conn.join(enc('g'), 2, 0));
    a.log.length = 0;
    c.node(2).stop();
    expect(a.log[0]).toBe('confchg g m=[1:1] l=[2:2/5] j=[]');
    expect(a.log.filter((l) => l.startsWith('confchg'))).toHaveLength(1);
  });

  test('a clean stop leaves for its connections newest first (libqb closes them from the head of its list)', () => {
    // found by real-diff-cpg-cluster.test.ts: corosync 3.1.7 sent node 2's PROCDOWNs in reverse
    // connection order; qb_ipcs_destroy walks the list qb_list_add prepends each accepted connection to
    const c = createCluster({ nodes: 3 });
    const a = proc(c, 1);
    run(c, () => a.conn.join(enc('g'), 1, 0));
    const [old, mid, young] = [proc(c, 2), proc(c, 2), proc(c, 2)];
    run(c, () => mid.conn.join(enc('g'), 20, 0));
    run(c, () => young.conn.join(enc('g'), 30, 0));
    run(c, () => old.conn.join(enc('g'), 10, 0));
    a.log.length = 0;
    c.node(2).stop();
    expect(a.log.filter((l) => l.startsWith('confchg'))).toEqual([
      'confchg g m=[1:1,2:10,2:20] l=[2:30/5] j=[]',
      'confchg g m=[1:1,2:10] l=[2:20/5] j=[]',
      'confchg g m=[1:1] l=[2:10/5] j=[]',
    ]);
  });

  test('a node rejoining two others learns their processes in the order corosync 3.1.7 delivers the join lists', () => {
    // found by real-diff-cpg-cluster.test.ts: on a real 3-node ring the join lists came highest
    // node first, then the others in ring order (the same in 9 of 9 runs, each node cut off in
    // turn); cpg stacks them, so the joined list is that order reversed, each node's entries too
    for (const [cut, want] of [
      [1, 'j=[2:21/4,2:20/4,3:31/4,3:30/4]'],
      [2, 'j=[1:11/4,1:10/4,3:31/4,3:30/4]'],
      [3, 'j=[2:21/4,2:20/4,1:11/4,1:10/4]'],
    ] as const) {
      const c = createCluster({ nodes: 3 });
      const watchers = [1, 2, 3].flatMap((n) => [0, 1].map((k) => {
        const p = proc(c, n);
        run(c, () => p.conn.join(enc('g'), n * 10 + k, 0));
        return p;
      }));
      c.partition([1, 2, 3].filter((n) => n !== cut), [cut]);
      const mine = watchers[(cut - 1) * 2]!;
      mine.log.length = 0;
      c.merge();
      expect({ cut, joined: mine.log[0]!.replace(/.* j=/, 'j=') }).toEqual({ cut, joined: want });
    }
  });

  test('partition and merge: each side sees NODEDOWN, then NODEUP with what the other side did meanwhile', () => {
    const c = createCluster({ nodes: 3 });
    const a = proc(c, 1);
    const b = proc(c, 3);
    run(c, () => a.conn.join(enc('g'), 1, 0));
    run(c, () => b.conn.join(enc('g'), 3, 0));
    a.log.length = 0;
    b.log.length = 0;
    c.partition([1, 2], [3]);
    expect(a.log[0]).toBe('confchg g m=[1:1] l=[3:3/3] j=[]');
    expect(b.log[0]).toBe('confchg g m=[3:3] l=[1:1/3] j=[]');
    run(c, () => proc(c, 3).conn.join(enc('g'), 30, 0));
    run(c, () => a.conn.mcast(enc('only-left')));
    expect(b.log.some((l) => l.includes('only-left'))).toBe(false);
    a.log.length = 0;
    c.merge();
    const ring = c.node(1).ring;
    expect(a.log).toEqual(['confchg g m=[1:1,3:3,3:30] l=[] j=[3:30/4,3:3/4]', `totem ${ring.nodeid}.${ring.seq} [1,2,3]`]);
    expect(b.log.at(-2)).toBe('confchg g m=[1:1,3:3,3:30] l=[] j=[1:1/4]');
  });

  test('a remote process that disappeared without a leave reaching us is PROCDOWN at the merge', () => {
    const c = createCluster({ nodes: 2 });
    const a = proc(c, 1);
    const b = proc(c, 2);
    run(c, () => a.conn.join(enc('g'), 1, 0));
    run(c, () => b.conn.join(enc('g'), 2, 0));
    // node 2's leave is sent while node 1 is out of its ring, so node 1 never hears it
    c.partition([1], [2]);
    c.merge();
    a.log.length = 0;
    c.partition([1], [2]);
    a.log.length = 0;
    c.cpg.node(1).processes.push({ nodeid: 2, pid: 77, group: enc('g') });
    c.merge();
    expect(a.log).toEqual([
      'confchg g m=[1:1,2:2,2:77] l=[] j=[2:2/4]',
      'confchg g m=[1:1,2:2] l=[2:77/5] j=[]',
      `totem 1.${c.node(1).ring.seq} [1,2]`,
    ]);
  });
});
