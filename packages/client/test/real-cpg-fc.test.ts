import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, crashTraceEnv, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, script, watchLines } from './real-helpers.js';

// cpg flow control provoked on a real corosync 3.1.7: 1,000,000-byte multicasts sent as fast as
// the library lets them, refused with CS_ERR_TRY_AGAIN when the request ring or socket is full
// (one such message fills the ring) or corosync has raised the IPC flow-control flag (level 2,
// which libcpg heeds around MCAST) while they fill totem's queue. libcpg
// (test/cref/fc.c, with the loop users write) and this package (test/cref/fc.mjs, with the
// `retry` option) must print the same lines: the refusal, cpg_flow_control_state_get (which
// libcpg 3.1.7 always reports DISABLED, under flow control too), every message delivered once,
// in order. Both scripts send until flow control has refused them twice: a state, not a time.
// A third process floods the daemon with the same messages meanwhile (flow control is one
// state for all connections, as with many senders): Node alone does not outpace totem.
for (const transport of ['socket', 'shm'] as const) {
  describeReal(`cpg flow control on corosync 3.1.7: libcpg vs TypeScript (${transport})`, () => {
    let ns: Namespace;
    let cref: string;

    beforeAll(async () => {
      buildDist();
      cref = await compileC(readFileSync(new URL('./cref/fc.c', import.meta.url), 'utf8'), ['cpg']);
      ns = await startNamespace({ name: `client-cpgfc-${transport}` });
      await ns.startCorosync({ transport });
    }, 180_000);

    afterAll(async () => {
      await ns?.close();
    });

    it('TRY_AGAIN under flow control, the same state reported, every message delivered once in order through retry', async () => {
      // another sender keeps totem's queue full: C is fast enough to fill it alone, Node is not
      const flood = watchLines(ns.spawn([cref, 'flood'], { stdio: ['ignore', 'pipe', 'pipe'] }));
      await flood.waitLine(/^flooding$/);
      const c = await ns.exec([cref], { timeout: 240_000 });
      expect(c.code, `${c.stdout}\n${c.stderr}`).toBe(0);
      const t = await ns.exec([process.execPath, script('fc.mjs')], { timeout: 240_000, env: await crashTraceEnv() });
      expect(t.code, `${t.stdout}\n${t.stderr}`).toBe(0);
      // the flood ran all along (an exit would mean it failed)
      expect(flood.lines).toEqual(['flooding']);
      const cl = c.stdout.trimEnd().split('\n');
      // the counts (messages, first refusal, refusals) say why a line differs
      expect(t.stdout.trimEnd().split('\n'), `libcpg: ${c.stderr}TypeScript: ${t.stderr}`).toEqual(cl);
      expect(cl).toEqual([
        'initialize 1',
        'join 1',
        'flow_control_state_get 1 0',
        'mcast until refused 6',
        'flow_control_state_get under flow control 1 0',
        'sent through flow control 1 refused again yes',
        'delivered every message once in order yes',
        'flow_control_state_get after 1 0',
        'finalize 1',
      ]);
    }, 600_000);
  });
}
