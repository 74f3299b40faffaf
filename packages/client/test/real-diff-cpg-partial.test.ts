import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { compileC, crashTraceEnv, describeReal, startNamespace } from '@corosync-ts/nstest';
import { buildDist } from './real-helpers.js';

// An answered CS_ERR_TRY_AGAIN inside a large message, provoked deterministically: corosync-mock
// (in a private network namespace, under the real names) answers the last fragment of a sender's
// first 1 MiB message TRY_AGAIN, as corosync does when its totem queue cannot take it. libcpg
// (test/cref/partial-try-again.c) and the client (fixtures/partial-try-again.mjs) each send the
// message twice: both calls' results, the fragments the daemon got and what the member received
// must be the same for both.
for (const transport of ['socket', 'shm'] as const) {
  describeReal(`cpg: a fragment answered TRY_AGAIN, libcpg vs TypeScript on corosync-mock (${transport})`, () => {
    it('ends the call with TRY_AGAIN, the fragment not sent again; the message sent again arrives once, whole', async () => {
      buildDist();
      const cref = await compileC(readFileSync(new URL('./cref/partial-try-again.c', import.meta.url), 'utf8'), ['cpg']);
      const ns = await startNamespace({ name: `client-partial-${transport}` });
      try {
        const fixture = fileURLToPath(new URL('./fixtures/partial-try-again.mjs', import.meta.url));
        const r = await ns.exec([process.execPath, fixture, 'serve', transport, cref], { timeout: 60_000, env: await crashTraceEnv() });
        expect(r.code, r.stderr).toBe(0);
        const lines = r.stdout.trimEnd().split('\n');
        const side = (name: string) => lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));
        expect(side('client')).toEqual(side('libcpg'));
        expect(side('libcpg')).toEqual([
          'initialize 1', 'join 1', 'mcast 6', 'mcast 1', 'finalize 1', 'exit 0',
          'fragments 1 3 1 3 refused 1',
          'delivered sender whole',
        ]);
      } finally {
        await ns.close();
      }
    }, 120_000);
  });
}
