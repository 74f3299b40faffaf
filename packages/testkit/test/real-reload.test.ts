import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { describeReal, type Namespace } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRealAndMock, stopRealAndMock, type MockProcess } from './helpers/mockns.js';

// corosync-cfgtool -R after corosync.conf changed: what corosync 3.1.7 applies (and refuses) and
// the cmap notifications a tracker of every key sees, against corosync-mock from the same files.

const CONF = readFileSync(new URL('./fixtures/three-nodes.conf', import.meta.url), 'utf8');
const TRACKER = fileURLToPath(new URL('./fixtures/cmap-track.mjs', import.meta.url));
const PKG = fileURLToPath(new URL('..', import.meta.url));

/** The edited corosync.conf: runtime totem keys, a read-only key, logging, quorum and nodelist changes. */
const CHANGED = CONF
  .replace('cluster_name: testcl', 'cluster_name: other\n\ttoken: 2000\n\tconsensus: 4000\n\tversion: 3')
  .replace('\tto_logfile: no\n', '')
  .replace('timestamp: on', 'timestamp: off\n\tdebug: on')
  .replace('provider: corosync_votequorum', 'provider: corosync_votequorum\n\texpected_votes: 5\n\ttwo_node: 0')
  .replace('name: node3\n\t\tnodeid: 3\n\t\tring0_addr: 127.0.0.3', 'name: node4\n\t\tnodeid: 4\n\t\tring0_addr: 127.0.0.4');

/** Traffic counters differ with every client the test runs. */
const volatile = (key: string) => key.startsWith('runtime.services.');
const dumpFilter = (s: string) => s.split('\n').filter((l) => !volatile(l)).join('\n');

interface Tracker { child: ChildProcess; events(): unknown[]; stop(): Promise<void> }

async function track(ns: Namespace): Promise<Tracker> {
  const child = ns.spawn(['sh', '-c', 'cd "$0" && exec "$@"', PKG, process.execPath, TRACKER], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const t0 = Date.now();
  while (!out.includes('"ready"')) {
    if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`tracker did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    events: () => out.trim().split('\n').map((l) => JSON.parse(l) as { key?: string; ready?: boolean })
      .filter((e) => !e.ready && !volatile(e.key ?? '')),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

for (const transport of ['socket', 'shm'] as const) describeReal(`cfg reload (corosync-cfgtool -R) over ${transport}: corosync 3.1.7 vs corosync-mock`, () => {
  const conf = (text: string) => text.replace('qb_ipc_type: socket', `qb_ipc_type: ${transport}`);
  let real: Namespace;
  let mockNs: Namespace;
  let mock: MockProcess;
  let realConf: string;
  let mockConf: string;

  beforeAll(async () => {
    ({ real, mockNs, mock } = await startRealAndMock({ real: `tk-reload-real-${transport}`, mock: `tk-reload-mock-${transport}` }, conf(CONF)));
    realConf = real.corosyncProcess!.confPath;
    mockConf = join(mockNs.dir, 'mock.conf');
  }, 180_000);
  afterAll(() => stopRealAndMock({ mock, mockNs, real }), 60_000);

  const both = async (cmd: string[]) => {
    const [r, m] = await Promise.all([real.exec(cmd, { timeout: 30_000 }), mockNs.exec(cmd, { timeout: 30_000 })]);
    return { real: r, mock: m };
  };
  /** Waits until `key` reads `value` on both daemons (a state, not a time). */
  const waitKey = async (key: string, value: string) => {
    for (const ns of [real, mockNs]) {
      const t0 = Date.now();
      for (;;) {
        const r = await ns.exec(['corosync-cmapctl', '-g', key]);
        if (r.stdout.trim().endsWith(`= ${value}`)) break;
        if (Date.now() - t0 > 30_000) throw new Error(`${ns.name}: ${key} is ${r.stdout}${r.stderr}, not ${value}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  };

  test('changed keys: runtime totem values, logging, quorum and nodelist applied; read-only keys kept; the same notifications', async () => {
    const before = await both(['corosync-cmapctl']);
    expect(dumpFilter(before.mock.stdout)).toBe(dumpFilter(before.real.stdout));
    const trackers = await Promise.all([track(real), track(mockNs)]);
    writeFileSync(realConf, conf(CHANGED));
    writeFileSync(mockConf, conf(CHANGED));
    const r = await both(['corosync-cfgtool', '-R']);
    expect({ code: r.mock.code, out: r.mock.stdout, err: r.mock.stderr }).toEqual({ code: r.real.code, out: r.real.stdout, err: r.real.stderr });
    // votequorum rereads its keys when the reload ends, and multicasts what changed
    await waitKey('runtime.votequorum.ev_barrier', '5');
    const after = await both(['corosync-cmapctl']);
    expect(after.real.stdout).toContain('quorum.expected_votes (u32) = 5');
    expect(after.real.stdout).toContain('totem.cluster_name (str) = testcl');
    expect(dumpFilter(after.mock.stdout)).toBe(dumpFilter(after.real.stdout));
    await Promise.all(trackers.map((t) => t.stop()));
    const [realEvents, mockEvents] = trackers.map((t) => t.events());
    expect(realEvents!.length).toBeGreaterThan(10);
    expect(mockEvents).toEqual(realEvents);
  }, 180_000);

  test('a corosync.conf that does not parse: the same answer, nothing applied, the same keys after', async () => {
    writeFileSync(realConf, `${conf(CONF)}\nbroken {\n`);
    writeFileSync(mockConf, `${conf(CONF)}\nbroken {\n`);
    const r = await both(['corosync-cfgtool', '-R']);
    expect({ code: r.mock.code, out: r.mock.stdout, err: r.mock.stderr }).toEqual({ code: r.real.code, out: r.real.stdout, err: r.real.stderr });
    const after = await both(['corosync-cmapctl', 'config.']);
    expect(after.mock.stdout).toBe(after.real.stdout);
  }, 120_000);
});
