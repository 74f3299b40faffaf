import { afterAll, beforeAll, expect, it } from 'vitest';
import { crashTraceEnv, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, script, watchLines } from './real-helpers.js';

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`cpg and cfg: shutdown, disconnect and reconnect on a real corosync (${transport})`, () => {
    let ns: Namespace;
    let conf: string;
    beforeAll(async () => {
      buildDist();
      ns = await startNamespace({ name: `client-cpgrc-${transport}` });
      conf = (await ns.startCorosync({ transport })).conf;
    }, 180_000);
    afterAll(async () => {
      await ns?.close();
    });

    it('a tracker agrees (try_shutdown OK, corosync exits); after a restart the group is joined again and tracking restarted', async () => {
      const child = ns.spawn([process.execPath, script('cpg-cfg-reconnect.mjs')], { stdio: ['ignore', 'pipe', 'pipe'], env: await crashTraceEnv() });
      const { lines, exited, output, waitLine } = watchLines(child);
      try {
        const daemon = ns.corosyncProcess!;
        await waitLine(/^try_shutdown ok$/);
        await Promise.race([
          daemon.exited,
          new Promise((_, reject) => setTimeout(() => reject(new Error(`corosync did not exit within 60 s after try_shutdown; so far:\n${output()}`)), 60_000)),
        ]);
        await waitLine(/^plain disconnect/);
        await ns.stopCorosync();
        await ns.startCorosync({ conf });
        expect(await exited, output()).toEqual({ code: 0, signal: null });
      } finally {
        child.kill();
      }
      expect(lines).toContain('shutdown callback flags=0');
      expect(lines).toContain('cpg disconnect 2');
      expect(lines).toContain('cfg disconnect 2');
      expect(lines).toContain('plain disconnect 2 state=disconnected');
      expect(lines).toContain('plain finalize 2 state=finalized');
      expect(lines).toContain('cpg reconnect group=rc-g members=self');
      expect(lines).toContain('cfg reconnect tracking=true');
      // the re-join's own confchg, then the message sent after the reconnect
      expect(lines.filter((l) => l.startsWith('confchg rc-g joined=self:1'))).toHaveLength(2);
      expect(lines).toContain('deliver after self=true');
      expect(lines.at(-1)).toBe('end');
    }, 180_000);
  });
}
