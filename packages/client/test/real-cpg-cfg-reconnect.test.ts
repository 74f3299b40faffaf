import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, script } from './real-helpers.js';

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
      const child = ns.spawn([process.execPath, script('cpg-cfg-reconnect.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: string[] = [];
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += String(d)));
      const waiters: { re: RegExp; resolve: () => void }[] = [];
      createInterface({ input: child.stdout! }).on('line', (l) => {
        lines.push(l);
        for (const w of waiters.splice(0)) {
          if (w.re.test(l)) w.resolve();
          else waiters.push(w);
        }
      });
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      // Bounded, and a failure says where the script stood: a state that never comes is the bug.
      const waitLine = (re: RegExp) =>
        lines.some((l) => re.test(l))
          ? Promise.resolve()
          : new Promise<void>((resolve, reject) => {
              const t = setTimeout(() => reject(new Error(`no line ${re} within 60 s; so far:\n${lines.join('\n')}\n${stderr}`)), 60_000);
              waiters.push({ re, resolve: () => (clearTimeout(t), resolve()) });
            });
      try {
        const daemon = ns.corosyncProcess!;
        await waitLine(/^try_shutdown ok$/);
        await Promise.race([
          daemon.exited,
          new Promise((_, reject) => setTimeout(() => reject(new Error(`corosync did not exit within 60 s after try_shutdown; so far:\n${lines.join('\n')}`)), 60_000)),
        ]);
        await waitLine(/^plain disconnect/);
        await ns.stopCorosync();
        await ns.startCorosync({ conf });
        expect(await exited, `${lines.join('\n')}\n${stderr}`).toBe(0);
      } finally {
        child.kill();
      }
      expect(lines).toContain('shutdown callback flags=0');
      expect(lines).toContain('cpg disconnect 2');
      expect(lines).toContain('cfg disconnect 2');
      expect(lines).toContain('plain disconnect 2 state=disconnected');
      expect(lines).toContain('cpg reconnect group=rc-g members=self');
      expect(lines).toContain('cfg reconnect tracking=true');
      // the re-join's own confchg, then the message sent after the reconnect
      expect(lines.filter((l) => l.startsWith('confchg rc-g joined=self:1'))).toHaveLength(2);
      expect(lines).toContain('deliver after self=true');
      expect(lines.at(-1)).toBe('end');
    }, 180_000);
  });
}
