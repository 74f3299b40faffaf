// The proof of corosync-tap: unmodified corosync tools and C programs on each library give the
// same output through the tap as without it, against a real corosync 3.1.7 in both libqb
// transports, and every frame of the capture decodes with @corosync-ts/codec-wasm.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileC, crashTraceEnv, describeReal, startNamespace, waitFor, watchLines, type Namespace } from '@corosync-ts/nstest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { analyse, CLI, readCapture, tapArgv, tempDir, viaTap } from './helpers.js';

const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), 'utf8');

/**
 * What differs between two runs whether or not the tap is there, each masked explicitly:
 * quorumtool's clock line; stats counters (traffic differs by design); in the stats map, the
 * connection names (pid and server-side pointer) and procname/pid of each connection, which
 * corosync takes from the connected process: through the tap that is the tap (documented).
 */
function normalise(s: string): string {
  return s
    .replace(/^Date:.*$/gm, 'Date: <date>')
    .replace(/stats\.ipcs\.service(\d+)\.\d+\.0x[0-9a-f]+\./g, 'stats.ipcs.service$1.<pid>.<conn>.')
    .replace(/^(stats\.[^ ]+ \([a-z0-9]+\)) = .*$/gm, '$1 = <v>');
}

const TOOLS: { name: string; cmd: string[] }[] = [
  { name: 'corosync-cmapctl (whole map)', cmd: ['corosync-cmapctl'] },
  { name: 'corosync-cmapctl -g', cmd: ['corosync-cmapctl', '-g', 'totem.cluster_name', 'nodelist.node.0.nodeid', 'no.such.key'] },
  {
    name: 'corosync-cmapctl -s / -g / -d',
    cmd: ['sh', '-c', 'corosync-cmapctl -s test.tap str hello; corosync-cmapctl -g test.tap; corosync-cmapctl -s test.tap.n u32 7; corosync-cmapctl test.tap; corosync-cmapctl -d test.tap; corosync-cmapctl -D test.tap; corosync-cmapctl -g test.tap; echo rc=$?'],
  },
  { name: 'corosync-cmapctl -m stats', cmd: ['corosync-cmapctl', '-m', 'stats', 'stats.ipcs'] },
  { name: 'corosync-quorumtool -s', cmd: ['corosync-quorumtool', '-s'] },
  { name: 'corosync-quorumtool -l', cmd: ['corosync-quorumtool', '-l'] },
  { name: 'corosync-cfgtool -s', cmd: ['corosync-cfgtool', '-s'] },
  { name: 'corosync-cfgtool -n', cmd: ['corosync-cfgtool', '-n'] },
];

let cref: string;
let sam: string;
let fc: string;

describeReal('corosync-tap around unmodified programs, real corosync 3.1.7', () => {
  beforeAll(async () => {
    cref = await compileC(read('../../client/test/cref/cref.c'), ['cmap', 'quorum', 'votequorum']);
    sam = await compileC(read('./fixtures/sam.c'), ['sam']);
    fc = await compileC(read('../../client/test/cref/fc.c'), ['cpg']);
  }, 120_000);

  for (const transport of ['socket', 'shm'] as const) {
    describe(`qb_ipc_type ${transport}`, () => {
      let ns: Namespace;
      const dir = tempDir();
      let n = 0;

      beforeAll(async () => {
        ns = await startNamespace({ name: `tap-${transport}` });
        // cref's script expects the 3-node nodelist with node 1 up (inquorate), like client's real-cref.
        await ns.startCorosync({ transport, nodes: 3 });
      }, 120_000);
      afterAll(async () => {
        await ns?.close();
      }, 60_000);

      /** Run cmd directly and through the tap; return both and the capture's analysis. */
      const both = async (cmd: string[], input?: string) => {
        const capture = join(dir, `cap-${++n}.jsonl`);
        const direct = await ns.exec(cmd, { timeout: 60_000, ...(input !== undefined ? { input } : {}) });
        const tapped = await viaTap(ns, capture, cmd, [], input);
        const { header, lines } = readCapture(capture);
        return { direct, tapped, header, lines, a: analyse(lines) };
      };

      const checkCapture = (a: ReturnType<typeof analyse>, lines: ReturnType<typeof readCapture>['lines']) => {
        expect(a.undecoded).toEqual([]);
        expect(a.order).toEqual([]);
        expect(a.frames).toBeGreaterThan(0);
        // Every frame decodes: the catalog covers every service these programs use.
        expect(a.decoded).toBe(a.frames);
        for (const [id, c] of a.conns) {
          // Both handshake frames, open, then closed (every program here exits).
          expect({ id, setup: c.setup, states: c.states }).toEqual({ id, setup: ['qb.connectionRequest', 'qb.connectionResponse'], states: ['open', 'closed'] });
          // libqb answers in order and every request of these services has an answer.
          expect({ id, service: c.service, res: c.res }).toEqual({ id, service: c.service, res: c.req });
          expect(c.transport).toBe(transport);
          expect(c.pid).toBeGreaterThan(0);
        }
        expect(lines.every((l) => l.transport === transport)).toBe(true);
      };

      for (const { name, cmd } of TOOLS) {
        test(name, async () => {
          const { direct, tapped, header, lines, a } = await both(cmd);
          expect(direct.stdout).not.toBe('');
          expect({ code: tapped.code, out: normalise(tapped.stdout), err: tapped.stderr }).toEqual({ code: direct.code, out: normalise(direct.stdout), err: direct.stderr });
          expect(header).toMatchObject({ corosyncCapture: 1, recorder: { mode: 'tap', name: 'corosync-tap' } });
          checkCapture(a, lines);
        }, 60_000);
      }

      test('C program on libcmap, libquorum, libvotequorum (tracking, notifications)', async () => {
        const { direct, tapped, lines, a } = await both([cref, 'all']);
        expect(direct.code).toBe(0);
        expect({ code: tapped.code, out: tapped.stdout, err: tapped.stderr }).toEqual({ code: direct.code, out: direct.stdout, err: direct.stderr });
        checkCapture(a, lines);
        const services = new Set([...a.conns.values()].map((c) => c.service));
        expect(services).toEqual(new Set(['cmap', 'quorum', 'votequorum']));
        // The tracked changes reached the program as events, through the tap.
        expect([...a.conns.values()].reduce((s, c) => s + c.evt, 0)).toBeGreaterThan(0);
        expect(tapped.stdout).toMatch(/notify/);
      }, 60_000);

      test('--netns NAME without a program: serves a named namespace until SIGTERM', async () => {
        const name = `tapns-${transport}`;
        await ns.execOk(['ip', 'netns', 'add', name]);
        try {
          const capture = join(dir, 'netns.jsonl');
          const tap = ns.spawn([process.execPath, CLI, '-o', capture, '--netns', name], { stdio: ['ignore', 'ignore', 'pipe'], env: await crashTraceEnv() });
          let err = '';
          tap.stderr!.on('data', (d: Buffer) => (err += d.toString()));
          const exited = new Promise<number | null>((resolve) => tap.on('exit', (code) => resolve(code)));
          const inNs = (cmd: string[]) => ns.exec(['nsenter', `--net=/run/netns/${name}`, ...cmd]);
          // Served once a client in that namespace gets corosync's answer.
          await waitFor('the tap serves the named namespace', async () => (await inNs(['corosync-cmapctl', '-g', 'totem.cluster_name'])).code === 0, { timeout: 30_000, interval: 100 });
          const q = await inNs(['corosync-quorumtool', '-l']);
          const direct = await ns.exec(['corosync-quorumtool', '-l']);
          expect({ code: q.code, out: q.stdout }).toEqual({ code: direct.code, out: direct.stdout });
          tap.kill('SIGTERM');
          expect(await exited, err).toBe(0);
          expect(err).toBe('');
          const { lines, end } = readCapture(capture);
          // Its own graceful stop closed the capture: the recorder's signal listener left it alone.
          expect(end).toMatchObject({ by: 'close' });
          const a = analyse(lines);
          checkCapture(a, lines);
          // quorumtool -l also asks cfg for node names.
          expect(new Set([...a.conns.values()].map((c) => c.service))).toEqual(new Set(['cmap', 'quorum', 'votequorum', 'cfg']));
        } finally {
          await ns.exec(['ip', 'netns', 'delete', name]);
        }
      });

      // fc.c multicasts 1,000,000-byte messages as fast as libcpg lets it while `fc flood` keeps
      // totem's queue full, until flow control refused it twice (CS_ERR_TRY_AGAIN, the loop users
      // write around it), then checks every message came back once, in order. MCAST has no answer
      // and libcpg sends it with fc_enable_max 2: the tap must neither wait for an answer nor let a
      // multicast through at level 2 (corosync would drop it).
      test('C program on libcpg under flow control (1 MB multicasts, TRY_AGAIN loop)', async () => {
        const flood = ns.spawn([fc, 'flood'], { stdio: ['ignore', 'pipe', 'inherit'] });
        try {
          await watchLines(flood).waitLine(/^flooding$/);
          const direct = await ns.exec([fc], { timeout: 30_000 });
          expect(direct.code, direct.stderr).toBe(0);
          const capture = join(dir, 'fc.jsonl');
          const tapped = await ns.exec(tapArgv(capture, [fc]), { timeout: 30_000, env: await crashTraceEnv() });
          // stderr has the counts, which vary with timing
          expect({ code: tapped.code, out: tapped.stdout }, tapped.stderr).toEqual({ code: 0, out: direct.stdout });
          const { lines } = readCapture(capture);
          const cpg = lines.filter((l) => l.service === 'cpg');
          // 'dropped': frames the capture could not keep up with (1 MB each), never the traffic
          expect(cpg.filter((l) => l.state === 'open' || l.state === 'closed').map((l) => l.state)).toEqual(['open', 'closed']);
          // every multicast relayed to corosync came back as its delivery (the group is fc.c's alone)
          if (!cpg.some((l) => l.state === 'dropped')) {
            const frames = (dir: string, id: string) => cpg.filter((l) => l.dir === dir && l.hex!.startsWith(id)).length;
            expect(frames('req', '02000000')).toBeGreaterThan(1);
            expect(frames('evt', '05000000')).toBe(frames('req', '02000000'));
          }
          // when corosync's flow control reached the program through the tap, it was lifted again
          expect(cpg.filter((l) => l.state === 'flow').at(-1)?.level ?? 0).toBe(0);
        } finally {
          flood.kill('SIGKILL');
        }
      }, 60_000);

      test('C program on libsam (fork: supervisor and child both through the tap)', async () => {
        const { direct, tapped, lines, a } = await both([sam]);
        expect(direct.code).toBe(0);
        expect({ code: tapped.code, out: tapped.stdout, err: tapped.stderr }).toEqual({ code: direct.code, out: direct.stdout, err: direct.stderr });
        checkCapture(a, lines);
        expect(new Set([...a.conns.values()].map((c) => c.pid)).size).toBeGreaterThan(0);
      }, 60_000);
    });
  }
});
