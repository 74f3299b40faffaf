import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, crashTraceEnv, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, script, watchLines } from './real-helpers.js';

const MOCK_CLI = fileURLToPath(new URL('../../testkit/dist/cli.js', import.meta.url));

// cpg's zero-copy buffers through libcpg (test/cref/zcb.c) and through this package
// (test/cref/zcb.mjs) must print identical lines: on a real corosync 3.1.7, and on the testkit
// mock run as the daemon of another namespace, over both transports (libcpg's zero-copy files
// are independent of the libqb transport: they work over the socket one too).
for (const transport of ['socket', 'shm'] as const) {
  describeReal(`cpg zero-copy buffers: C reference vs TypeScript, corosync 3.1.7 and the mock (${transport})`, () => {
    let real: Namespace;
    let mockNs: Namespace;
    let cref: string;
    let stopMock: (() => Promise<unknown>) | undefined;

    beforeAll(async () => {
      buildDist();
      cref = await compileC(readFileSync(new URL('./cref/zcb.c', import.meta.url), 'utf8'), ['cpg']);
      real = await startNamespace({ name: `client-zcb-${transport}` });
      await real.startCorosync({ transport });
      mockNs = await startNamespace({ name: `client-zcb-mock-${transport}` });
      const child = mockNs.spawn([process.execPath, MOCK_CLI, '--nodes', '1', '--transport', transport], { stdio: ['ignore', 'pipe', 'pipe'] });
      const w = watchLines(child);
      let err = '';
      child.stderr!.on('data', (d) => (err += String(d)));
      await new Promise<void>((resolve, reject) => {
        const onData = () => /serving/.test(err) && resolve();
        child.stderr!.on('data', onData);
        void w.exited.then((e) => reject(new Error(`corosync-mock ended (${JSON.stringify(e)}): ${err}`)));
      });
      stopMock = async () => {
        child.kill('SIGTERM');
        return w.exited;
      };
    }, 180_000);

    afterAll(async () => {
      await stopMock?.();
      await mockNs?.close();
      await real?.close();
    });

    const run = async (ns: Namespace, cmd: string[]) => {
      const r = await ns.exec(cmd, { timeout: 120_000, env: await crashTraceEnv() });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      return r.stdout.trimEnd().split('\n');
    };

    it('every call, error, delivery and leftover file is what libcpg gives, on corosync and on the mock', async () => {
      const c = await run(real, [cref]);
      const t = await run(real, [process.execPath, script('zcb.mjs')]);
      expect(t).toEqual(c);
      // What the comparison rests on, spelled out once.
      expect(c).toContain('zcb_alloc(100) 1');
      expect(c).toContain('zcb_mcast_joined unjoined 12');
      expect(c.some((l) => /^ {2}deliver zcb-g node=1 self=1 len=15 sum=\d+ text=zero-copy hello$/.test(l))).toBe(true);
      expect(c).toContain('zcb_mcast_joined 1048577 26');
      expect(c.some((l) => /^ {2}deliver zcb-g node=1 self=1 len=1047552 /.test(l))).toBe(true);
      expect(c).toContain('zcb_mcast_joined after leave 12');
      expect(c).toContain('zcb_alloc after finalize 9');
      expect(c.filter((l) => l.startsWith('files '))).toEqual(['files after alloc 0', 'files after mcast 0', 'files at exit 0']);
      // the mock serves the same script to both libraries with the same lines
      expect(await run(mockNs, [cref])).toEqual(c);
      expect(await run(mockNs, [process.execPath, script('zcb.mjs')])).toEqual(c);
      // nothing left in either /dev/shm
      for (const ns of [real, mockNs]) {
        expect((await ns.execOk(['sh', '-c', 'ls /dev/shm | grep -c corosync_zerocopy || true'])).trim()).toBe('0');
      }
    }, 300_000);
  });
}
