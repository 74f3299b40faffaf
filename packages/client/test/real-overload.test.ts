// Issue 9: thousands of concurrent calls on one handle against a real corosync. corosync drops a
// reply it cannot send at once (response ring / socket send buffer full, stats send_retries);
// the handle must bound what it has in flight so that never happens, and every answer must be
// its own call's.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { crashTraceEnv, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, script } from './real-helpers.js';

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`concurrent calls on one handle against a real corosync (${transport})`, () => {
    let ns: Namespace;
    beforeAll(async () => {
      buildDist();
      ns = await startNamespace({ name: `client-ov-${transport}` });
      await ns.startCorosync({ transport });
    }, 180_000);
    afterAll(async () => {
      await ns?.close();
    });

    it('4,000 getUint32 and 1,500 getString at once: every answer is its own key, none lost', async () => {
      const r = await ns.exec([process.execPath, script('overload.mjs')], { timeout: 90_000, env: await crashTraceEnv() });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const out = JSON.parse(line) as Record<string, { calls: number; wrong: number; failed: number }> & { transport: string; after: unknown; sendRetries: number[] };
      expect(out.transport).toBe(transport);
      expect(out.getUint32).toMatchObject({ calls: 4000, wrong: 0, failed: 0 });
      expect(out.getString).toMatchObject({ calls: 1500, wrong: 0, failed: 0 });
      expect(out.after).toBe(1005);
      // corosync never had to drop (or retry) an answer on either of the script's connections.
      expect(out.sendRetries).toEqual([0, 0]);
    }, 120_000);
  });
}
