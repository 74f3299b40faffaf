import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { decode, encoders, fromHex, toHex } from '@corosync-ts/codec-wasm';
import { compileC, describeReal, startNamespace, watchLines, type Namespace } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMockIn, type MockProcess } from './helpers/mockns.js';

// corosync answers setexpected, setvotes, qdevice update and unregister before totem delivers
// the change, and qdevice register after. A libqb client
// pipelines the call and a getinfo while the daemon is stopped (SIGSTOP), so the daemon reads
// both in one dispatch: the getinfo answer then shows the state before delivery on every run,
// not by luck. The same probe against corosync-mock (same corosync.conf, its own namespace)
// must get the same answers, and the same state once delivered.

const CONF = readFileSync(new URL('./fixtures/three-nodes.conf', import.meta.url), 'utf8');
const TRACKER = fileURLToPath(new URL('./fixtures/track-events.mjs', import.meta.url));
const PKG = fileURLToPath(new URL('..', import.meta.url));

interface Probe { answers: unknown[]; final: unknown }

const decodeRes = (hex: string) => {
  const d = decode(fromHex(hex)!, { service: 'votequorum', dir: 'res' });
  return { name: d.name, error: d.error, fields: d.fields };
};

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`votequorum timing over ${transport}: answer before delivery, corosync 3.1.7 vs corosync-mock`, () => {
    // corosync's log goes to its stderr, which the harness keeps: a failure shows the daemon's side
    const conf = CONF.replace('qb_ipc_type: socket', `qb_ipc_type: ${transport}`).replace('to_stderr: no', 'to_stderr: yes')
      .replace('provider: corosync_votequorum', 'provider: corosync_votequorum\n\tdevice {\n\t\tmodel: net\n\t\tvotes: 1\n\t}');
    let probe: string;
    let real: Namespace;
    let mockNs: Namespace;
    let mock: MockProcess;
    /** quorum and votequorum trackers (fixtures/track-events.mjs) on each daemon, for the whole run. */
    let trackers: { child: ChildProcess; out: () => string; exited: Promise<unknown> }[] = [];

    beforeAll(async () => {
      probe = await compileC(readFileSync(new URL('./fixtures/vq-pipeline.c', import.meta.url), 'utf8'), ['qb']);
      real = await startNamespace({ name: `tk-vqt-real-${transport}` });
      mockNs = await startNamespace({ name: `tk-vqt-mock-${transport}` });
      await real.startCorosync({ conf });
      mock = await startMockIn(mockNs, conf);
      trackers = await Promise.all([real, mockNs].map(async (ns) => {
        const child = ns.spawn(['sh', '-c', 'cd "$0" && exec "$@"', PKG, process.execPath, TRACKER], { stdio: ['ignore', 'pipe', 'pipe'] });
        const w = watchLines(child);
        await w.waitLine(/"ready"/);
        return { child, out: () => w.output(), exited: w.exited };
      }));
    }, 180_000);
    afterAll(async () => {
      for (const t of trackers) t.child.kill('SIGKILL');
      await mock?.stop();
      await mockNs?.close();
      await real?.close();
    }, 60_000);

    /** Runs the probe with `frames` against the daemon `pid` of `ns`, stopped while they are sent. */
    const pipelined = async (ns: Namespace, pid: number, frames: Uint8Array[]): Promise<Probe> => {
      const child = ns.spawn([probe, ...frames.map(toHex)], { stdio: ['pipe', 'pipe', 'pipe'] });
      const w = watchLines(child);
      let stoppedMs = 0;
      let out: string;
      try {
        await w.waitLine(/^connected$/);
        const t0 = performance.now();
        process.kill(pid, 'SIGSTOP');
        try {
          child.stdin!.write('go\n');
          await w.waitLine(/^sent$/);
        } finally {
          process.kill(pid, 'SIGCONT');
          stoppedMs = performance.now() - t0;
        }
        await w.waitLine(/^final [0-9a-f]+$/);
        await w.exited;
        out = w.lines.join('\n');
      } catch (e) {
        const log = ns === real ? `\ncorosync's log:\n${real.corosyncProcess!.log().trim().split('\n').slice(-30).join('\n')}` : '';
        throw new Error(`${ns === real ? 'corosync' : 'corosync-mock'} (stopped ${stoppedMs.toFixed(0)} ms): ${(e as Error).message}${log}`);
      }
      return {
        answers: [...out.matchAll(/^answer ([0-9a-f]+)$/gm)].map((m) => decodeRes(m[1]!)),
        final: decodeRes(/^final ([0-9a-f]+)$/m.exec(out)![1]!),
      };
    };
    const both = async (frames: Uint8Array[]) => {
      const r = await pipelined(real, real.corosyncProcess!.pid, frames);
      const m = await pipelined(mockNs, mock.child.pid!, frames);
      return { real: r, mock: m };
    };
    const getinfo = encoders.votequorum.req.getinfo({ nodeid: 0 });

    type Info = { fields: { votes: number; expectedVotes: number; quorum: number; flags: number; qdeviceName: string } };
    const info = (x: unknown) => (x as Info).fields;
    const QUORATE = 2;
    const REGISTERED = 64;

    // in this order, on the same two daemons (each step starts from the state the previous left)
    test('setexpected and setvotes: the getinfo pipelined after them has the old quorum; the change comes with delivery', async () => {
      for (const call of [encoders.votequorum.req.setexpected({ expectedVotes: 1 }), encoders.votequorum.req.setvotes({ nodeid: 1, votes: 2 })]) {
        const r = await both([getinfo, call, getinfo]);
        const [before, answer, after] = r.real.answers;
        expect(answer).toMatchObject({ name: 'votequorum.status', error: 1 });
        expect([info(after).quorum, info(after).flags & QUORATE]).toEqual([info(before).quorum, info(before).flags & QUORATE]);
        expect(r.real.final).not.toEqual(after);
        expect(r.mock).toEqual(r.real);
      }
    }, 120_000);

    test('qdevice register: getinfo is answered first (unregistered), the register answer comes with delivery', async () => {
      const r = await both([getinfo, encoders.votequorum.req.qdeviceRegister({ name: 'qd' }), getinfo]);
      const [first, second, third] = r.real.answers;
      expect([first, second].map((a) => info(a).flags & REGISTERED)).toEqual([0, 0]);
      expect(third).toMatchObject({ name: 'votequorum.status', error: 1 });
      expect(info(r.real.final).flags & REGISTERED).toBe(REGISTERED);
      expect(r.mock).toEqual(r.real);
    }, 120_000);

    test('qdevice update and unregister: the name changes with delivery; unregister drops the flags at once', async () => {
      const u = await both([getinfo, encoders.votequorum.req.qdeviceUpdate({ oldname: 'qd', newname: 'q2' }), getinfo]);
      expect(info(u.real.answers[2]).qdeviceName).toBe('qd');
      expect(info(u.real.final).qdeviceName).toBe('q2');
      expect(u.mock).toEqual(u.real);
      const d = await both([getinfo, encoders.votequorum.req.qdeviceUnregister({ name: 'q2' }), getinfo]);
      expect(info(d.real.answers[2])).toMatchObject({ qdeviceName: 'q2' });
      expect(info(d.real.answers[2]).flags & REGISTERED).toBe(0);
      expect(info(d.real.final).qdeviceName).toBe('');
      expect(d.mock).toEqual(d.real);
    }, 120_000);

    test('the trackers saw the same notifications, in the same order per service', async () => {
      const events = await Promise.all(trackers.map(async (t) => {
        t.child.kill('SIGTERM');
        await t.exited;
        return t.out().trim().split('\n').filter((l) => !l.includes('"ready"'))
          .map((l) => l.replace(/"seq":"?\d+"?/g, '"seq":"<seq>"').replace(/"ringSeq":"?\d+"?/g, '"ringSeq":"<seq>"'));
      }));
      expect(events[0]!.some((l) => l.includes('expectedvotesNotification'))).toBe(true);
      // two connections: the order within each service is the daemon's, not across them
      const byService = (ls: string[]) => ['"quorum.', '"votequorum.'].map((p) => ls.filter((l) => l.includes(`"name":${p}`)));
      expect(byService(events[1]!)).toEqual(byService(events[0]!));
    }, 60_000);
  });
}
