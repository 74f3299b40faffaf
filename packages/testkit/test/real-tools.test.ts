import { readFileSync } from 'node:fs';
import { compileC, describeReal, GiveUp, startNamespace, waitFor, type Namespace } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMockIn, startRealAndMock, stopRealAndMock, type MockProcess } from './helpers/mockns.js';

const CONF = readFileSync(new URL('./fixtures/three-nodes.conf', import.meta.url), 'utf8');

/** Only what differs run to run: the date line and ring ids. */
function normalise(s: string): string {
  return s
    .replace(/^Date:.*$/gm, 'Date: <date>')
    .replace(/^(Ring ID:\s+)[0-9a-f]+\.[0-9a-f]+$/gm, '$1<ring>');
}

/** stats values depend on timing and pids; compare names, types and the set of entries. */
function normaliseStats(s: string): string {
  return s
    .replace(/stats\.ipcs\.service(\d+)\.\d+\.0x[0-9a-f]+\./g, 'stats.ipcs.service$1.<pid>.<conn>.')
    .replace(/^(stats\.[^ ]+ \([a-z0-9]+\)) = .*$/gm, '$1 = <v>');
}

describeReal('unmodified corosync tools: mock vs real corosync 3.1.7 (same corosync.conf)', () => {
  let real: Namespace;
  let mockNs: Namespace;
  let mock: MockProcess;

  beforeAll(async () => {
    ({ real, mockNs, mock } = await startRealAndMock({ real: 'tk-real', mock: 'tk-mock' }, CONF));
  }, 120_000);
  afterAll(() => stopRealAndMock({ mock, mockNs, real }), 60_000);

  const both = async (cmd: string[], input?: string) => {
    const [r, m] = await Promise.all([real.exec(cmd, { input, timeout: 30_000 }), mockNs.exec(cmd, { input, timeout: 30_000 })]);
    return { real: r, mock: m };
  };
  const same = (name: string, cmd: string[], norm = normalise) => {
    test(name, async () => {
      const { real: r, mock: m } = await both(cmd);
      expect({ code: m.code, out: norm(m.stdout), err: m.stderr }).toEqual({ code: r.code, out: norm(r.stdout), err: r.stderr });
    }, 60_000);
  };

  // order matters: the later commands see the changes of the earlier ones on both daemons
  same('corosync-quorumtool -s', ['corosync-quorumtool', '-s']);
  same('corosync-quorumtool -l', ['corosync-quorumtool', '-l']);
  same('corosync-quorumtool -s -p (parsable)', ['corosync-quorumtool', '-s', '-p']);
  same('corosync-quorumtool -l -o n / -o i', ['sh', '-c', 'corosync-quorumtool -l -o n; corosync-quorumtool -l -o i -H']);
  same('corosync-quorumtool -l -a', ['corosync-quorumtool', '-l', '-a']);
  same('corosync-quorumtool -v 1 (refused)', ['corosync-quorumtool', '-v', '1']);
  same('corosync-quorumtool -v 2 -n 9 (unknown node)', ['corosync-quorumtool', '-v', '2', '-n', '9']);
  same('corosync-quorumtool -f (no qdevice)', ['corosync-quorumtool', '-f']);
  same('corosync-cmapctl (dump)', ['corosync-cmapctl']);
  same('corosync-cmapctl prefix', ['corosync-cmapctl', 'runtime.votequorum']);
  same('corosync-cmapctl prefix with no match', ['corosync-cmapctl', 'no.such.prefix']);
  same('corosync-cmapctl -g', ['corosync-cmapctl', '-g', 'totem.cluster_name', 'nodelist.node.1.nodeid', 'no.such.key']);
  same('corosync-cmapctl -s of every type, then -g', ['sh', '-c', [
    'corosync-cmapctl -s test.i8 i8 -5', 'corosync-cmapctl -s test.u8 u8 255', 'corosync-cmapctl -s test.i16 i16 -300',
    'corosync-cmapctl -s test.u16 u16 60000', 'corosync-cmapctl -s test.i32 i32 -70000', 'corosync-cmapctl -s test.u32 u32 4000000000',
    'corosync-cmapctl -s test.i64 i64 -5000000000', 'corosync-cmapctl -s test.u64 u64 18000000000000000000',
    'corosync-cmapctl -s test.flt flt 1.5', 'corosync-cmapctl -s test.dbl dbl 2.25', 'corosync-cmapctl -s test.str str hello',
    'echo -n binary | corosync-cmapctl -s test.bin bin -', 'corosync-cmapctl test.', 'corosync-cmapctl -b -g test.bin',
  ].join('; ')]);
  same('corosync-cmapctl -s on read-only and invalid keys', ['sh', '-c', [
    'corosync-cmapctl -s totem.version u32 3; echo rc=$?', 'corosync-cmapctl -s nodelist.node.0.nodeid u32 5; echo rc=$?',
    'corosync-cmapctl -s "bad key" str x; echo rc=$?', 'corosync-cmapctl -s ab str x; echo rc=$?',
  ].join('; ')]);
  same('corosync-cmapctl -d and -D', ['sh', '-c', 'corosync-cmapctl -d test.str; echo rc=$?; corosync-cmapctl -d test.str; echo rc=$?; corosync-cmapctl -D test.i; echo rc=$?; corosync-cmapctl test.']);
  same('corosync-cmapctl -p file', ['sh', '-c', 'printf "test.p1 u32 7\\ntest.p2 str x y\\n^test.p1\\n" | corosync-cmapctl -p /dev/stdin; echo rc=$?; corosync-cmapctl test.p']);
  same('corosync-quorumtool -e 4 then -s', ['sh', '-c', 'corosync-quorumtool -e 4; echo rc=$?; corosync-quorumtool -s; echo rc=$?']);
  same('corosync-quorumtool -e 1 (inquorate, so accepted)', ['sh', '-c', 'corosync-quorumtool -e 1; echo rc=$?']);
  same('corosync-cmapctl -m stats', ['corosync-cmapctl', '-m', 'stats'], normaliseStats);
  same('corosync-cmapctl -m stats prefix and -C', ['sh', '-c', 'corosync-cmapctl -m stats stats.ipcs.global; corosync-cmapctl -C ipc; echo rc=$?; corosync-cmapctl -m stats -s stats.x u8 1; echo rc=$?'], normaliseStats);

  test('corosync-cmapctl -t sees changes made by another client', async () => {
    // -t tracks exact keys (-T would track prefixes), so test.prefixed must not show. test.pre is
    // also the marker: its first change seen means the trackers are in place, its last one that
    // every change made before it has been printed; its lines are left out of the comparison.
    const marker = /^(create|modify|delete)> test\.pre \(.*\n/gm;
    const run = async (ns: Namespace) => {
      // stdin open: cmapctl -t ends at EOF or "q" on it; stdout line-buffered to see each change as it comes
      const child = ns.spawn(['stdbuf', '-oL', 'corosync-cmapctl', '-t', 'test.track', 'test.pre'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
      const closed = new Promise((r) => child.once('close', r));
      let n = 0;
      await waitFor('cmapctl -t tracking', async () => {
        if (child.exitCode !== null) throw new GiveUp(`cmapctl -t exited ${child.exitCode}: ${out}`);
        await ns.execOk(['corosync-cmapctl', '-s', 'test.pre', 'u32', String(++n)]);
        return out.includes('> test.pre (');
      }, { timeout: 30_000 });
      await ns.exec(['sh', '-c', 'corosync-cmapctl -s test.track str a; corosync-cmapctl -s test.track str a; corosync-cmapctl -s test.track str bb; corosync-cmapctl -s test.prefixed u8 1; corosync-cmapctl -d test.track']);
      await ns.execOk(['corosync-cmapctl', '-s', 'test.pre', 'str', 'done']);
      await waitFor('cmapctl -t printing the last change', () => out.includes('test.pre (str) = done\n'), { timeout: 30_000, detail: () => out });
      child.stdin!.end('q\n');
      await closed;
      await ns.execOk(['corosync-cmapctl', '-d', 'test.pre']);
      return out.replace(marker, '');
    };
    const [r, m] = await Promise.all([run(real), run(mockNs)]);
    expect(r).toMatch(/^modify> test\.track \(str\) = bb$/m);
    expect(m).toBe(r);
  }, 60_000);

  test('corosync-quorumtool -m prints the first status like the real one', async () => {
    const run = async (ns: Namespace) => {
      // quorumtool writes to a pipe through stdio's full buffering; line-buffer it
      const child = ns.spawn(['stdbuf', '-oL', 'corosync-quorumtool', '-m'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
      const closed = new Promise((r) => child.once('close', r));
      // the status ends with the member list, this node last (the others are down)
      await waitFor('quorumtool -m status', () => /Membership information[\s\S]*\(local\)\n/.test(out), { timeout: 30_000, detail: () => out });
      child.kill('SIGTERM');
      await closed;
      return normalise(out);
    };
    const [r, m] = await Promise.all([run(real), run(mockNs)]);
    expect(r).toMatch(/Membership information/);
    expect(m).toBe(r);
  }, 60_000);

  test('corosync-quorumtool -m follows the simulated cluster (node 2 joins, then leaves)', async () => {
    const child = mockNs.spawn(['stdbuf', '-oL', 'corosync-quorumtool', '-m'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const waitOut = async (re: RegExp) => {
      const t0 = Date.now();
      while (!re.test(out)) {
        if (Date.now() - t0 > 15_000) throw new Error(`quorumtool -m never printed ${re}: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      // the earlier -e 1 left this node quorate on its own (on the real daemon too)
      await waitOut(/Quorate:\s+Yes[\s\S]*\(local\)/);
      expect(await mock.command('up 2')).toMatch(/^OK/);
      await waitOut(/Total votes:\s+2[\s\S]*Quorum:\s+2[\s\S]*node2/);
      expect(await mock.command('down 2')).toMatch(/^OK/);
      await waitOut(/node2[\s\S]*Quorate:\s+No[\s\S]*Activity blocked/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(out.match(/Quorum information/g)?.length).toBeGreaterThanOrEqual(3);
  }, 60_000);
});

describeReal('hostile libqb clients against corosync-mock', () => {
  let ns: Namespace;
  let mock: MockProcess;
  beforeAll(async () => {
    ns = await startNamespace({ name: 'tk-hostile' });
    mock = await startMockIn(ns, CONF);
  }, 120_000);
  afterAll(async () => {
    await mock?.stop();
    await ns?.close();
  }, 60_000);

  test('wrong sizes, short and garbage frames, the disconnect id and vanishing clients: the mock serves on', async () => {
    const bin = await compileC(readFileSync(new URL('./fixtures/hostile-client.c', import.meta.url), 'utf8'), ['qb']);
    // neither cfg (a random TRYSHUTDOWN with no tracker shuts the mock down, as it does corosync)
    // nor cpg (its 9248-byte MEMBERSHIP answer overflows this client's buffer): see cpg-cfg-frames.test.ts
    for (const svc of ['cmap', 'quorum', 'votequorum']) {
      const r = await ns.exec([bin, svc, '40'], { timeout: 120_000 });
      expect(r.stdout).toMatch(/^sent \d+/);
    }
    const ok = await ns.exec(['corosync-cmapctl', '-g', 'totem.cluster_name'], { timeout: 30_000 });
    expect(ok.stdout).toBe('totem.cluster_name (str) = testcl\n');
    expect((await ns.exec(['corosync-quorumtool', '-l'], { timeout: 30_000 })).code).toBe(0);
    expect(mock.child.exitCode).toBeNull();
    // no per-connection files left behind in the namespace's /dev/shm
    expect((await ns.exec(['sh', '-c', 'ls -A /dev/shm | wc -l'])).stdout.trim()).toBe('0');
    expect(await mock.stop()).toBe(0);
  }, 300_000);
});

describeReal('unmodified corosync tools: a 4-node wait_for_all + LMS + ATB config with logging and uidgid sections', () => {
  const conf = readFileSync(new URL('./fixtures/four-nodes-wfa-lms-atb.conf', import.meta.url), 'utf8');
  let real: Namespace;
  let mockNs: Namespace;
  let mock: MockProcess;
  beforeAll(async () => {
    ({ real, mockNs, mock } = await startRealAndMock({ real: 'tk-real2', mock: 'tk-mock2' }, conf));
  }, 120_000);
  afterAll(() => stopRealAndMock({ mock, mockNs, real }), 60_000);
  for (const cmd of [['corosync-cmapctl'], ['corosync-quorumtool', '-s'], ['corosync-quorumtool', '-l', '-p']]) {
    test(cmd.join(' '), async () => {
      const [r, m] = await Promise.all([real.exec(cmd, { timeout: 30_000 }), mockNs.exec(cmd, { timeout: 30_000 })]);
      expect({ code: m.code, out: normalise(m.stdout), err: m.stderr }).toEqual({ code: r.code, out: normalise(r.stdout), err: r.stderr });
    }, 60_000);
  }
});

describeReal('a quorum device (register, poll, master_wins) as the stock tools show it', () => {
  const conf = CONF.replace('provider: corosync_votequorum', 'provider: corosync_votequorum\n\tdevice {\n\t\tmodel: net\n\t\tvotes: 1\n\t}');
  const SCRIPT = new URL('./fixtures/qdevice.mjs', import.meta.url).pathname;
  const PKG = new URL('..', import.meta.url).pathname;
  let real: Namespace;
  let mockNs: Namespace;
  let mock: MockProcess;
  beforeAll(async () => {
    ({ real, mockNs, mock } = await startRealAndMock({ real: 'tk-real3', mock: 'tk-mock3' }, conf));
  }, 120_000);
  afterAll(() => stopRealAndMock({ mock, mockNs, real }), 60_000);

  test('quorumtool -s / -l -a and runtime.votequorum with a voting, master-wins device', async () => {
    const start = async (ns: Namespace) => {
      const child = ns.spawn(['sh', '-c', 'cd "$0" && exec "$@"', PKG, process.execPath, SCRIPT, '', 'Qdev', '1', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
      for (let i = 0; i < 400 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 25));
      return { child, out };
    };
    const [r, m] = await Promise.all([start(real), start(mockNs)]);
    try {
      expect(m.out).toBe(r.out);
      expect(r.out).toBe('{"reg":1,"poll":1,"masterWins":1}\n');
      const cmd = ['sh', '-c', 'corosync-quorumtool -s; echo rc=$?; corosync-quorumtool -l -a; corosync-cmapctl runtime.votequorum'];
      const [ro, mo] = await Promise.all([real.exec(cmd), mockNs.exec(cmd)]);
      expect(ro.stdout).toMatch(/A,V,MW node1 \(local\)/);
      expect(normalise(mo.stdout)).toBe(normalise(ro.stdout));
    } finally {
      r.child.kill('SIGTERM');
      m.child.kill('SIGTERM');
    }
  }, 120_000);
});
