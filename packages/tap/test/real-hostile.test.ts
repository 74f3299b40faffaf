// corosync-tap facing trouble: a program the daemon would refuse, a program that leaves in the
// middle of a request, a daemon that dies under a connected program, a capture path that is a
// symbolic link, no daemon at all. Real corosync 3.1.7 in private namespaces.
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeReal, startNamespace, waitFor, type Namespace } from '@corosync-ts/nstest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { analyse, readCapture, tapArgv, tempDir, viaTap } from './helpers.js';

const MID_REQUEST = new URL('./fixtures/mid-request.mjs', import.meta.url).pathname;

/** Per-connection libqb directories still in /dev/shm (qb-<server pid>-<client pid>-<fd>-XXXXXX). */
async function connectionDirs(ns: Namespace): Promise<string[]> {
  const out = await ns.execOk(['ls', '/dev/shm']);
  return out.split('\n').filter((f) => /^qb-\d+-\d+-\d+-/.test(f));
}

describeReal('corosync-tap under hostile conditions, real corosync 3.1.7', () => {
  for (const transport of ['socket', 'shm'] as const) {
    describe(`qb_ipc_type ${transport}`, () => {
      let ns: Namespace;
      const dir = tempDir();
      beforeAll(async () => {
        ns = await startNamespace({ name: `tap-h-${transport}` });
        await ns.startCorosync({ transport });
      }, 120_000);
      afterAll(async () => {
        await ns?.close();
      }, 60_000);

      test('a uid corosync refuses is refused through the (root) tap with the same error, and let in once a uidgid key allows it', async () => {
        const cmd = ['corosync-cmapctl', '-g', 'totem.cluster_name'];
        const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...cmd];
        const cap = join(dir, 'denied.jsonl');
        const direct = await ns.exec(asNobody);
        const tapped = await viaTap(ns, cap, cmd, ['-q', '--user', '65534:65534']);
        expect(direct.code).not.toBe(0);
        expect(direct.stderr).toMatch(/CS_ERR_ACCESS/);
        expect({ code: tapped.code, out: tapped.stdout, err: tapped.stderr }).toEqual({ code: direct.code, out: direct.stdout, err: direct.stderr });
        // Nothing was relayed for it; the capture says who was refused and why.
        const refusals = readCapture(cap).lines;
        expect(refusals.length).toBeGreaterThanOrEqual(1);
        for (const l of refusals) {
          expect(l).toMatchObject({ service: 'cmap', transport, state: 'closed', by: 'server', error: 'corosync refused the connection (EACCES)', proc: 'corosync-cmapct' });
          expect(l.hex).toBeUndefined();
        }
        // Without -q the tap says why.
        const loud = await viaTap(ns, join(dir, 'denied2.jsonl'), cmd, ['--user', '65534:65534']);
        expect(loud.stderr).toMatch(/corosync-tap: cmap: denied connection attempt from 65534:65534/);

        await ns.execOk(['corosync-cmapctl', '-s', 'uidgid.uid.65534', 'u8', '1']);
        try {
          const d2 = await ns.exec(asNobody);
          const t2 = await viaTap(ns, join(dir, 'allowed.jsonl'), cmd, ['-q', '--user', '65534']);
          expect(d2.code).toBe(0);
          expect({ code: t2.code, out: t2.stdout, err: t2.stderr }).toEqual({ code: d2.code, out: d2.stdout, err: d2.stderr });
          const conns = [...analyse(readCapture(join(dir, 'allowed.jsonl')).lines).conns.values()];
          expect(conns.length).toBe(1);
        } finally {
          await ns.execOk(['corosync-cmapctl', '-d', 'uidgid.uid.65534']);
        }
      });

      test('a program that exits in the middle of a request: the tap carries on, nothing is left behind', async () => {
        const cap = join(dir, 'mid.jsonl');
        const r = await viaTap(ns, cap, ['sh', '-c', `"${process.execPath}" "${MID_REQUEST}"; corosync-cmapctl -g totem.cluster_name`]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toBe('totem.cluster_name (str) = nstest\n');
        const a = analyse(readCapture(cap).lines);
        expect(a.undecoded).toEqual([]);
        const [first, second] = [...a.conns.values()];
        expect(first).toMatchObject({ service: 'cmap', req: 1, states: ['open', 'closed'], by: 'client' });
        expect(first!.res).toBeLessThanOrEqual(1);
        expect(second).toMatchObject({ service: 'cmap', states: ['open', 'closed'], by: 'client' });
        expect(second!.res).toBe(second!.req);
        // Neither the tap's per-connection files nor the daemon's connections for the tap remain.
        await waitFor('no libqb connection directories in /dev/shm', async () => (await connectionDirs(ns)).length === 0, { timeout: 10_000 });
      });

      test('the capture path is a symbolic link: refused, the program is not run, the target untouched', async () => {
        const target = join(dir, 'precious');
        writeFileSync(target, 'keep me\n');
        const link = join(dir, 'link.jsonl');
        symlinkSync(target, link);
        const marker = join(dir, 'ran');
        const r = await ns.exec(tapArgv(link, ['touch', marker]));
        expect(r.code).toBe(125);
        expect(r.stderr).toMatch(/refusing capture path .*link\.jsonl: it is a symbolic link/);
        expect(existsSync(marker)).toBe(false);
        expect(readFileSync(target, 'utf8')).toBe('keep me\n');
      });
    });
  }

  describe('the daemon dies under a connected program', () => {
    let ns: Namespace;
    const dir = tempDir();
    beforeAll(async () => {
      ns = await startNamespace({ name: 'tap-h-die' });
      await ns.startCorosync({ transport: 'shm' });
    }, 120_000);
    afterAll(async () => {
      await ns?.close();
    }, 60_000);

    test('the program sees the disconnect it would see without the tap; the tap reports it and exits with its status', async () => {
      const cap = join(dir, 'die.jsonl');
      const run = (argv: string[]) => {
        // stdin stays open: corosync-cmapctl -t stops at EOF (it waits for "q").
        const child = ns.spawn(argv, { stdio: ['pipe', 'pipe', 'pipe'] });
        const out = { stdout: '', stderr: '', code: undefined as number | null | undefined };
        child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
        const done = new Promise<void>((resolve) => child.on('exit', (code, sig) => ((out.code = code ?? (sig ? 128 : -1)), resolve())));
        return { out, done };
      };
      // Line-buffered, or a tracker's lines sit in its stdio buffer until it exits.
      const track = ['stdbuf', '-oL', 'corosync-cmapctl', '-t', 'test.die'];
      const direct = run(track);
      const tapped = run(tapArgv(cap, track));
      // Both are tracking once both have printed a change of the key.
      let n = 0;
      await waitFor('both trackers notified', async () => {
        await ns.execOk(['corosync-cmapctl', '-s', 'test.die', 'u32', String(++n)]);
        return direct.out.stdout.includes('test.die') && tapped.out.stdout.includes('test.die');
      }, { timeout: 30_000, interval: 200 });
      process.kill(ns.corosyncProcess!.pid, 'SIGKILL');
      await Promise.all([direct.done, tapped.done]);
      const mask = (s: string) => s.replace(/value = \d+/g, 'value = <n>').split('\n').filter((l) => !l.includes('test.die')).join('\n');
      expect(tapped.out.code).toBe(direct.out.code);
      expect(mask(tapped.out.stdout)).toBe(mask(direct.out.stdout));
      const tapLines = tapped.out.stderr.split('\n').filter((l) => l.startsWith('corosync-tap: '));
      expect(tapLines.join('\n')).toMatch(/corosync closed it/);
      expect(tapped.out.stderr.split('\n').filter((l) => !l.startsWith('corosync-tap: ')).join('\n')).toBe(direct.out.stderr);
      const a = analyse(readCapture(cap).lines);
      expect(a.undecoded).toEqual([]);
      expect([...a.conns.values()].map((c) => c.by)).toContain('server');
    }, 90_000);

    test('no daemon: the tap fails with 125 and says so, the program is not run', async () => {
      await ns.stopCorosync();
      const marker = join(dir, 'ran');
      const r = await ns.exec(tapArgv(join(dir, 'none.jsonl'), ['touch', marker]));
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/corosync-tap: cannot reach corosync .*ECONNREFUSED/);
      expect(existsSync(marker)).toBe(false);
    });
  });
});
