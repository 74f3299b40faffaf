// The answer spin (answer_spin in the addon): after each answer on an armed connection the watcher
// spins, up to 50 µs, for the client's next request instead of sleeping for it, polls its fds
// meanwhile, and a spin that sees nothing makes the next 1, 2, 4 ... 1,024 waits sleep at once.
// A JS client is too slow to keep a spin going, so the client here is libqb's (a C program), and
// what the spin must guarantee is counted on the server's loop thread (/proc context switches and
// CPU) rather than timed. Server and client are pinned to two different CPUs: on one, whether a
// client runs while its server spins is the scheduler's draw, and the counts would say which
// shape a run drew rather than what the spin does (bench/README.md, "The mock's GETs: spinning for
// the next request"). Each bound has a wide margin either side: a build that never spins, spins
// 5 ms, never backs off or does not poll its fds while spinning fails at least one of them.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { compileC, describeWithPrograms } from '@corosync-ts/nstest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shmFiles } from './helpers.js';

const spinServer = fileURLToPath(new URL('./fixtures/spin-server.mjs', import.meta.url));

/** The CPUs this process may run on (its `Cpus_allowed_list`, e.g. "0-3,6"). */
function allowedCpus(): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  return list.split(',').flatMap((r) => {
    const [a, b = a] = r.split('-').map(Number);
    return Array.from({ length: b! - a! + 1 }, (_, i) => a! + i);
  });
}

/** What spin-client.c prints for a phase: the server loop thread's switches and CPU over it. */
interface Phase {
  phase: string;
  gets: number;
  vol: number;
  invol: number;
  cpuNs: number;
  waitedMost?: number;
  waitedOver8?: number;
}

const cpus = allowedCpus();

describeWithPrograms('gcc', 'taskset')('the answer spin, against a libqb client', () => {
  let client: string;

  beforeAll(async () => {
    client = await compileC(readFileSync(new URL('./fixtures/spin-client.c', import.meta.url), 'utf8'), ['qb', '-pthread']);
  });

  for (const transport of ['socket', 'shm'] as const) {
    describe.skipIf(cpus.length < 2)(`over ${transport}`, () => {
      let server: ReturnType<typeof spawn>;
      let lines: AsyncIterator<string>;
      let name: string;

      /** How many requests reached the server's JS so far. */
      const inJs = async () => {
        server.stdin!.write('\n');
        return (JSON.parse((await lines.next()).value as string) as { js: number }).js;
      };

      /** spin-client's phases against the server, from the other CPU; each one's counts. */
      const run = async (...phases: string[]): Promise<Phase[]> => {
        const before = await inJs();
        const child = spawn('taskset', ['-c', String(cpus[1]), client, name, String(server.pid), ...phases], { stdio: ['ignore', 'pipe', 'inherit'] });
        const out: Phase[] = [];
        for await (const line of createInterface({ input: child.stdout! })) out.push(JSON.parse(line) as Phase);
        const code = await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(child.exitCode)));
        expect(code).toBe(0);
        expect(out.map((p) => p.phase)).toEqual(phases.map((p) => p.split(':')[0]));
        // one request of the client's own came to JS, which armed its answer; the watcher answered
        // every other GET (the requests of an "other" phase's second connection are never armed)
        const asks = phases.filter((p) => p.startsWith('other:')).map((p) => 1 + Number(p.split(':')[1]));
        expect((await inJs()) - before).toBe(1 + asks.reduce((a, b) => a + b, 0));
        return out;
      };

      beforeAll(async () => {
        server = spawn('taskset', ['-c', String(cpus[0]), process.execPath, spinServer, transport], { stdio: ['pipe', 'pipe', 'inherit'] });
        lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
        name = (JSON.parse((await lines.next()).value as string) as { name: string }).name;
      });

      afterAll(async () => {
        const exited = new Promise((r) => (server.exitCode === null ? server.once('exit', r) : r(undefined)));
        server.stdin!.end();
        await exited;
        expect(server.exitCode).toBe(0);
        expect(shmFiles(server.pid)).toEqual([]);
      });

      it('a client calling back to back keeps the spin going: the loop thread sleeps for few of its GETs', async () => {
        // a server that does not spin sleeps for nearly every GET (0.99 voluntary switches per
        // GET); one that spins, for 1-9 in a hundred (up to 14 beside two busy loops)
        const [stream] = await run('stream:10000');
        expect(stream!.vol / stream!.gets).toBeLessThan(0.5);
      });

      it('a client that sleeps between calls is not spun for; the misses make the next waits sleep at once, then the spin comes back', async () => {
        // 200 µs between GETs: every spin misses, so the loop thread sleeps for each GET (a spin
        // of 5 ms would catch them all, and sleep for none over socket, half over shm)
        const [think, after, again] = await run('think:1100:200', 'stream:2000', 'stream:5000');
        expect(think!.vol / think!.gets).toBeGreaterThan(0.75);
        // 1,100 misses in a row back off to 1,024 waits without a spin: the quick client that
        // follows finds the server sleeping for its first GETs (~950; without the back-off, ~10)
        expect(after!.vol).toBeGreaterThan(300);
        // and once those waits are over, the spin is back
        expect(again!.vol / again!.gets).toBeLessThan(0.5);
      });

      it('a spin for a client that stopped calling ends: over its connection\'s next 300 ms the loop thread uses at most a tenth of that CPU', async () => {
        // the connection stays open, so nothing but the spin's own bound ends a spin that missed
        // (one bounded at 10 s instead of 50 µs used all 300 ms; this one, none)
        const [, pause] = await run('stream:5000', 'pause:300');
        expect(pause!.cpuNs).toBeLessThan(30e6);
      });

      it('another connection is served during a spin: its request waits for a few of the stream\'s answers, not for a batch of them', async () => {
        // The stream's client is busy 10 µs between GETs, so the spin after each answer lasts that
        // long and polls the fds (every ~5 µs) before the next GET comes; a spin that did not poll
        // them would answer on until the watcher's batch of 64 gives the loop its turn, and the
        // second connection's requests would often wait for dozens of the stream's answers (15-87%
        // of them more than 8, measured); with the polls, for two at most. The stream before it
        // gets the spin going: a client that sleeps for its answer is too late for the next spin.
        const [, other] = await run('stream:2000', 'other:200:10');
        expect(other!.gets).toBeGreaterThan(200);
        expect(other!.waitedOver8).toBeLessThanOrEqual(10);
      });
    });
  }
});
