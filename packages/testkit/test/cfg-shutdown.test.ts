import { describe, expect, test } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { ShutdownFlag, ShutdownTracker, type ShutdownParty } from '../src/cfg/shutdown.js';
import { nodeAddrs, nodeStatus, ringStatus } from '../src/cfg/status.js';

function setup(timeout = 2000) {
  const clock = new ManualClock();
  const events: string[] = [];
  const t = new ShutdownTracker({ clock, timeoutMs: () => timeout, shutdown: () => events.push(`shutdown@${clock.now()}`) });
  const party = (name: string): ShutdownParty & { name: string } => ({ name, testShutdown: (f, e = 1) => events.push(`${name} asked ${f}${e === 1 ? '' : ` error ${e}`}`) });
  const ask = (p: ShutdownParty, flags: number) => t.tryShutdown(p, flags, (e) => events.push(`reply ${e}@${clock.now()}`));
  return { clock, events, t, party, ask };
}

describe('cfg shutdown vote', () => {
  test('no tracker other than the requester: OK at once, then the node shuts down', () => {
    const { events, t, party, ask } = setup();
    const r = party('r');
    t.trackstart(r);
    ask(r, ShutdownFlag.REQUEST);
    expect(events).toEqual(['reply 1@0', 'shutdown@0']);
  });

  test('one NO stops it (BUSY once all voted); a YES from everyone shuts down', () => {
    const { clock, events, t, party, ask } = setup();
    const [a, b, r] = [party('a'), party('b'), party('r')];
    t.trackstart(a);
    t.trackstart(b);
    ask(r, ShutdownFlag.REQUEST);
    expect(events).toEqual(['a asked 0', 'b asked 0']);
    clock.advance(100);
    expect(t.replyToShutdown(b, 1)).toBe(1);
    clock.advance(200);
    expect(t.replyToShutdown(a, 0)).toBe(1);
    expect(events.slice(2)).toEqual(['reply 10@300']);
    expect(t.replyToShutdown(a, 1)).toBe(11); // no session: ACCESS
    events.length = 0;
    ask(r, ShutdownFlag.REQUEST);
    t.replyToShutdown(a, 1);
    t.replyToShutdown(b, 1);
    expect(events).toEqual(['a asked 0', 'b asked 0', 'reply 1@300', 'shutdown@300']);
  });

  test('timeout: missing votes are NO (REQUEST → BUSY, REGARDLESS → OK); a second requester meanwhile gets EXIST', () => {
    const { clock, events, t, party, ask } = setup(2000);
    const [a, r, r2] = [party('a'), party('r'), party('r2')];
    t.trackstart(a);
    ask(r, ShutdownFlag.REQUEST);
    ask(r2, ShutdownFlag.REQUEST);
    clock.advance(1999);
    expect(events).toEqual(['a asked 0', 'reply 14@0']);
    clock.advance(1);
    expect(events.at(-1)).toBe('reply 10@2000');
    ask(r, ShutdownFlag.REGARDLESS);
    clock.advance(2000);
    expect(events.slice(-3)).toEqual(['a asked 1', 'reply 1@4000', 'shutdown@4000']);
  });

  test('when the timer decides, the trackers that once asked themselves get a TESTSHUTDOWN with CS_ERR_TIMEOUT, the others nothing', () => {
    const { clock, events, t, party, ask } = setup(2000);
    const [a, b, r] = [party('a'), party('b'), party('r')];
    t.trackstart(a);
    ask(b, ShutdownFlag.REQUEST);
    clock.advance(2000);
    expect(events).toEqual(['a asked 0', 'reply 10@2000']);
    t.trackstart(b);
    t.trackstart(r);
    events.length = 0;
    ask(r, 7);
    clock.advance(2000);
    // r asked too: the timer's question reaches it as well (exec/cfg.c filters on ci->conn)
    expect(events).toEqual(['a asked 7', 'b asked 7', 'reply 10@4000', 'b asked 7 error 5', 'r asked 7 error 5']);
  });

  test('IMMEDIATE asks nobody; votes count per message (a double YES counts twice)', () => {
    const { events, t, party, ask } = setup();
    const [a, b, r] = [party('a'), party('b'), party('r')];
    t.trackstart(a);
    t.trackstart(b);
    ask(r, ShutdownFlag.IMMEDIATE);
    expect(events).toEqual(['reply 1@0', 'shutdown@0']);
    events.length = 0;
    ask(r, ShutdownFlag.REQUEST);
    t.replyToShutdown(a, 1);
    t.replyToShutdown(a, 1);
    expect(events).toEqual(['a asked 0', 'b asked 0', 'reply 1@0', 'shutdown@0']);
  });

  test('a tracker leaving mid-session takes back its vote and counts as YES; a late tracker is asked; the requester leaving cancels', () => {
    const { clock, events, t, party, ask } = setup();
    const [a, b, c, r] = [party('a'), party('b'), party('c'), party('r')];
    t.trackstart(a);
    t.trackstart(b);
    ask(r, ShutdownFlag.REQUEST);
    t.replyToShutdown(a, 0);
    t.disconnect(a); // its NO becomes a YES
    t.trackstart(c);
    t.replyToShutdown(b, 1);
    expect(events.slice(2)).toEqual(['c asked 0']);
    t.trackstop(c);
    expect(events.slice(3)).toEqual(['reply 1@0', 'shutdown@0']);
    events.length = 0;
    t.trackstart(a);
    ask(r, ShutdownFlag.REQUEST);
    t.disconnect(r);
    clock.advance(10_000);
    expect(events).toEqual(['b asked 0', 'a asked 0']);
    expect(t.pending).toBe(false);
  });
});

describe('cfg link status of the simulated nodes', () => {
  const nodes = [{ id: 1, addrs: ['127.0.0.1'] }, { id: 2, addrs: ['127.0.0.2'] }, { id: 3, addrs: ['127.0.0.3'] }];
  const me = { id: 1, addrs: ['127.0.0.1'], members: [1] };

  test('ring status "n11" with two nodes down; node status of self, a down node, an unknown node', () => {
    expect(ringStatus(me, nodes)).toEqual({ names: ['0 127.0.0.1'], statuses: ['n11'] });
    expect(ringStatus({ ...me, members: [1, 3] }, nodes).statuses).toEqual(['n13']);
    const link0 = (nodeid: number) => {
      const r = nodeStatus(me, nodes, nodeid, 1);
      if (!('status' in r)) throw new Error(`error ${r.error}`);
      expect(r.status.linkStatus.slice(1).every((l) => l.enabled === 0 && l.srcIpaddr === '')).toBe(true);
      return { reachable: r.status.reachable, remote: r.status.remote, ...r.status.linkStatus[0] };
    };
    expect(link0(1)).toEqual({ reachable: 1, remote: 0, enabled: 1, connected: 1, dynconnected: 0, mtu: 65535, srcIpaddr: '127.0.0.1', dstIpaddr: '127.0.0.1' });
    expect(link0(2)).toEqual({ reachable: 0, remote: 0, enabled: 1, connected: 0, dynconnected: 0, mtu: 522, srcIpaddr: '127.0.0.1', dstIpaddr: '127.0.0.2' });
    expect(nodeStatus(me, nodes, 0, 1)).toEqual({ error: 21 });
    expect(nodeStatus(me, nodes, 99, 2)).toEqual({ error: 21 });
    expect(nodeStatus(me, nodes, 2, 2)).toEqual({ error: 19 });
  });

  test('node addresses: 0 is local; an unknown node repeats the previous answer\'s family and count', () => {
    const ok = nodeAddrs(me, nodes, 0, { family: 0, numAddrs: 0 });
    expect(ok).toMatchObject({ error: 1, family: 2, numAddrs: 1 });
    expect(nodeAddrs(me, nodes, 9, { family: 2, numAddrs: 1 })).toEqual({ error: 12, family: 2, numAddrs: 1, addrs: [] });
  });
});
