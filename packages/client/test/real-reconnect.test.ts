import { afterAll, beforeAll, expect, it } from 'vitest';
import { crashTraceEnv, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, script, watchLines } from './real-helpers.js';

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`disconnect and auto-reconnect on a real corosync (${transport})`, () => {
    let ns: Namespace;
    let conf: string;
    beforeAll(async () => {
      buildDist();
      ns = await startNamespace({ name: `client-rc-${transport}` });
      conf = (await ns.startCorosync({ transport, nodes: 3 })).conf;
    }, 180_000);
    afterAll(async () => {
      await ns?.close();
    });

    it('the daemon restarts: disconnect (2), tracking re-established, snapshot, notifications resume', async () => {
      const child = ns.spawn([process.execPath, script('reconnect.mjs')], { stdio: ['ignore', 'pipe', 'pipe'], env: await crashTraceEnv() });
      const { lines, exited, output, waitLine } = watchLines(child);
      try {
        await waitLine(/^ready$/);
        await ns.stopCorosync();
        await waitLine(/^plain disconnect/);
        await waitLine(/^cmap disconnect/);
        // The same conf again (starting with `nodes: 3` twice would re-create nstest's dead-end veth).
        await ns.startCorosync({ conf });
        expect(await exited, output()).toEqual({ code: 0, signal: null });
      } finally {
        child.kill();
      }
      const out = lines.join('\n');
      expect(out).toContain('cmap disconnect 2');
      expect(out).toContain('quorum disconnect 2');
      expect(out).toContain('plain disconnect 2 state=disconnected');
      expect(out).toMatch(/cmap reconnect tracks=2 snapshot=\|totem\.cluster_name=nstest/);
      expect(out).toContain(`quorum reconnect quorumType=1 trackFlags=2`);
      expect(out).toContain('plain get 2');
      expect(out).toContain('cmap get after reconnect nstest');
      expect(out).toContain('cmap notify test.rc.after=1 sameHandle=true');
      // the snapshot re-sent by trackstart after the reconnect reached the callback again
      expect(lines.filter((l) => l.startsWith('quorum notify')).length).toBeGreaterThanOrEqual(2);
      expect(lines.at(-1)).toBe('end');
    }, 180_000);
  });
}
