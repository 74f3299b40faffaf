// Relay behaviour a real corosync cannot be made to show on demand, against a stand-in daemon
// (@corosync-ts/ipc's server as 'cmap') in a private namespace: the daemon's flow control
// reaches the program as EAGAIN and no request is lost or reordered; a handshake refusal
// reaches the program as the same error; a daemon that does not answer in time costs one
// handshake timeout, not one per step, and nothing of it is left after close().
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { compileC, crashTraceEnv, describeReal, startNamespace, waitFor, type Namespace } from '@corosync-ts/nstest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { analyse, readCapture, tapArgv, tempDir, viaTap } from './helpers.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

function lines(child: ChildProcess): string[] {
  const out: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => out.push(l));
  return out;
}

describeReal('corosync-tap relaying a stand-in daemon', () => {
  for (const transport of ['socket', 'shm'] as const) {
    describe(transport, () => {
      let ns: Namespace;
      let daemon: ChildProcess;
      let said: string[];
      let eventOrder: string;
      let slowReader: string;
      const dir = tempDir();
      const tell = async (cmd: string) => {
        daemon.stdin!.write(`${cmd}\n`);
        await waitFor(`daemon did ${cmd}`, () => said.includes(`ok ${cmd}`));
      };

      beforeAll(async () => {
        eventOrder = await compileC(readFileSync(fixture('event-order.c'), 'utf8'), ['qb']);
        slowReader = await compileC(readFileSync(fixture('slow-reader.c'), 'utf8'), ['qb']);
        ns = await startNamespace({ name: `tap-relay-${transport}` });
        daemon = ns.spawn([process.execPath, fixture('fake-daemon.mjs'), transport], { stdio: ['pipe', 'pipe', 'inherit'] });
        said = lines(daemon);
        await waitFor('stand-in daemon ready', () => said.includes('ready'));
      }, 60_000);
      afterAll(async () => {
        daemon?.stdin?.end();
        await ns?.close();
      }, 60_000);

      test('flow control: the program gets EAGAIN while the daemon refuses, then every answer in order', async () => {
        await tell('fc 1');
        let on = true;
        try {
          await flowControlled(async () => {
            await tell('fc 0');
            on = false;
          });
        } finally {
          // A failure here must not leave the daemon refusing the next tests' programs.
          if (on) await tell('fc 0');
        }
      });

      /** Fixture `name` through the tap until it says EAGAIN, then release(): its stdout lines, once it exited 0 with nothing on stderr. */
      async function pastEagain(cap: string, name: string, release: () => Promise<void>): Promise<string[]> {
        const prog = ns.spawn(tapArgv(cap, [process.execPath, fixture(name)]), { stdio: ['ignore', 'pipe', 'pipe'], env: await crashTraceEnv() });
        const out = lines(prog);
        let err = '';
        prog.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        const exited = new Promise<number | null>((resolve) => prog.on('exit', (code) => resolve(code)));
        try {
          await waitFor('the program saw EAGAIN', () => out.includes('EAGAIN'), { timeout: 30_000 });
        } finally {
          await release();
        }
        expect(await exited, err).toBe(0);
        expect(err).toBe('');
        return out;
      }

      async function flowControlled(release: () => Promise<void>) {
        const cap = join(dir, 'fc.jsonl');
        const out = await pastEagain(cap, 'fc-client.mjs', release);
        const answers = out.find((l) => l.startsWith('answers '))!.slice(8).split(',').map(Number);
        expect(answers.length).toBeGreaterThanOrEqual(2);
        expect(answers).toEqual(answers.map((_, i) => i + 1));
        const { lines: recorded } = readCapture(cap);
        const [c] = [...analyse(recorded).conns.values()];
        expect(c).toMatchObject({ req: answers.length, res: answers.length });
        expect(c!.states.filter((x) => x !== 'flow')).toEqual(['open', 'closed']);
        // The daemon's flow control is in the capture: on while the program met EAGAIN, off at the end.
        const levels = recorded.filter((l) => l.state === 'flow').map((l) => l.level);
        expect(levels.length).toBeGreaterThanOrEqual(2);
        expect(levels[0]).toBeGreaterThan(0);
        expect(levels.at(-1)).toBe(0);
      }

      test('cpg multicasts (never answered) at flow-control level 2: refused to the program at level 2, its other call taken, every multicast delivered in order', async () => {
        await tell('fc 2');
        const cap = join(dir, 'mcast.jsonl');
        const out = await pastEagain(cap, 'mcast-client.mjs', () => tell('fc 0'));
        const delivered = out.find((l) => l.startsWith('delivered '))!.slice(10).split(',').map(Number);
        expect(delivered.length).toBeGreaterThanOrEqual(2);
        expect(delivered).toEqual(delivered.map((_, i) => i + 1));
        expect(out).toContain('call 1000');
        const { lines: recorded } = readCapture(cap);
        const cpg = recorded.filter((l) => l.service === 'cpg');
        expect(cpg.filter((l) => l.state === 'flow').map((l) => l.level)).toEqual([2, 0]);
        expect(cpg.filter((l) => l.state !== undefined && l.state !== 'flow').map((l) => l.state)).toEqual(['open', 'closed']);
      });

      test('flow control turned on while the program has requests in flight: every answer, in order', async () => {
        // The daemon refuses from the first request on, while the tap has the next ones.
        await tell('fcat 1');
        const cap = join(dir, 'fc-inflight.jsonl');
        const r = await viaTap(ns, cap, [process.execPath, fixture('pipeline.mjs'), '6']);
        expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: '' });
        expect(r.stdout).toBe('answers 1,2,3,4,5,6\n');
        const { lines: recorded, end } = readCapture(cap);
        const [c] = [...analyse(recorded).conns.values()];
        expect(c).toMatchObject({ req: 6, res: 6 });
        expect(c!.states.filter((x) => x !== 'flow')).toEqual(['open', 'closed']);
        // The tap closed the capture when the program ended: a clean end, every frame counted.
        expect(end).toMatchObject({ frames: 14, dropped: 0, by: 'close' });
      });

      test('an event the daemon sent before a response is there when the program has the response', async () => {
        await tell('events 1');
        try {
          const direct = await ns.exec([eventOrder, '300']);
          const tapped = await viaTap(ns, join(dir, 'order.jsonl'), [eventOrder, '300']);
          expect(direct.stdout).toBe('missed 0 wrong 0 of 300\n');
          expect(tapped.stdout).toBe(direct.stdout);
        } finally {
          await tell('events 0');
        }
      });

      test('a program that takes its events late gets every one: the tap holds more than 16 MiB of them, as corosync queues without a bound', async () => {
        const n = 40;
        const size = 512 << 10;
        const cap = join(dir, 'slow-reader.jsonl');
        const tap = ns.spawn(tapArgv(cap, [slowReader, String(n), String(size)]), { stdio: ['pipe', 'pipe', 'inherit'] });
        const out = lines(tap);
        const exited = new Promise<number | null>((res) => tap.on('exit', (code) => res(code)));
        try {
          await waitFor('the program connected through the tap', () => out.includes('connected'));
          await tell(`burst ${n} ${size}`);
          // The events the tap has taken from the daemon for the program: each is recorded (or
          // counted in a dropped line, the recorder never holding traffic back) before it is
          // queued for the program, and a connection the tap gave up on ends with a closed line.
          const seen = () => {
            let events = 0;
            let closed = false;
            for (const l of readFileSync(cap, 'utf8').split('\n')) {
              let o: { service?: string; dir?: string; state?: string; lines?: number };
              try {
                o = JSON.parse(l) as typeof o;
              } catch {
                continue; // the line being written
              }
              if (o.service !== 'cpg') continue;
              if (o.dir === 'evt') events++;
              if (o.state === 'dropped') events += o.lines!;
              if (o.state === 'closed') closed = true;
            }
            return events === n || closed ? { events, closed } : undefined;
          };
          expect(await waitFor('the tap took every event or gave up the connection', seen, { timeout: 60_000 })).toEqual({ events: n, closed: false });
          tap.stdin!.end('go\n');
          expect(await exited).toBe(0);
          expect(out).toContain(`got ${n} in order`);
        } finally {
          tap.kill('SIGKILL');
        }
      });

      test('close() with programs still connected (a request in flight) ends their connections and the daemon\'s, and leaves no fd or thread of the tap', async () => {
        const r = await ns.exec([process.execPath, fixture('api-close.mjs'), join(dir, 'api-close.jsonl'), transport], { timeout: 90_000, env: await crashTraceEnv() });
        expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
        const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
          relayed: number;
          results: unknown[];
          before: { fds: string[]; threads: number };
          after: { fds: string[]; threads: number };
        };
        expect(got.relayed).toBe(2);
        // Each program saw its connection go (and was not killed waiting for it).
        expect(got.results).toEqual([0, 1].map(() => ({ code: 0, signal: null, said: ['connected', 'disconnected'] })));
        // The upstream worker thread has ended and its connections' fds are closed.
        expect(got.after).toEqual(got.before);
        const count = (what: string) => said.filter((l) => l === what).length;
        await waitFor('the daemon saw every connection close', () => count('closed') === count('conn'));
        const states = readCapture(join(dir, 'api-close.jsonl')).lines.filter((l) => l.state !== undefined);
        expect(states.map((l) => l.state).sort()).toEqual(['closed', 'closed', 'open', 'open']);
        // The tap, the programs' server, ended them.
        for (const l of states.filter((x) => x.state === 'closed')) expect(l.by).toBe('server');
      });

      test('a refused handshake reaches the program as the same error (ENOSYS, a service corosync has not loaded)', async () => {
        await tell('refuse 38');
        try {
          const cmd = ['corosync-cmapctl', '-g', 'totem.cluster_name'];
          const direct = await ns.exec(cmd);
          const tapped = await viaTap(ns, join(dir, 'refused.jsonl'), cmd, ['-q', '--transport', transport]);
          expect(direct.stderr).toMatch(/Failed to initialize the cmap API/);
          expect({ code: tapped.code, out: tapped.stdout, err: tapped.stderr }).toEqual({ code: direct.code, out: direct.stdout, err: direct.stderr });
          const { lines: recorded } = readCapture(join(dir, 'refused.jsonl'));
          expect(recorded.length).toBeGreaterThanOrEqual(1);
          for (const l of recorded) expect(l).toMatchObject({ service: 'cmap', transport, state: 'closed', by: 'server', error: 'corosync refused the connection (ENOSYS)' });
        } finally {
          await tell('refuse 0');
        }
      });

      // A daemon that does not answer a connection holds the tap's main thread in the program's
      // handshake (it waits for the verdict synchronously): handshakeTimeout bounds the whole
      // upstream open, not each of its steps, and whatever the daemon still holds is let go then.
      const HANDSHAKE_MS = 3000;
      const hostileOpen = async (name: string, squat: string, program: string[]) => {
        const cap = join(dir, `${name}.jsonl`);
        const r = await ns.exec([process.execPath, fixture('hostile-open.mjs'), cap, transport, String(HANDSHAKE_MS), squat, ...program], { timeout: 90_000, env: await crashTraceEnv() });
        expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
        const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
          program: { code: number; stdout: string; stderr: string };
          held: number;
          before: { fds: string[]; threads: number };
          after: { fds: string[]; threads: number };
        };
        // close() ended the upstream worker and closed every connection it had opened.
        expect(got.after).toEqual(got.before);
        // Refused the way the tap refuses when it gives up on the daemon itself.
        expect(readCapture(cap).lines).toEqual([
          expect.objectContaining({ service: name === 'squat' ? 'cfg' : 'cmap', transport, state: 'closed', by: 'error', error: 'the daemon did not answer the handshake in time: refused with EAGAIN' }),
        ]);
        return got;
      };
      // Not root: the tap checks corosync's uidgid keys for it. One attempt (corosync's tools try
      // again on EAGAIN, for a minute).
      const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, fixture('connect-once.mjs'), 'cmap'];

      test('a daemon that takes the connection but never answers the access check: the program gets EAGAIN (not EACCES: nothing was denied)', async () => {
        await tell('mute 1');
        const held = () => said.filter((l) => l === 'held').length;
        const heldBefore = held();
        try {
          const got = await hostileOpen('mute', '-', asNobody);
          expect(got.program).toEqual({ code: 0, stdout: 'EAGAIN\n', stderr: '' });
          // The first uidgid key's request used up what was left of the handshake timeout.
          expect(held() - heldBefore).toBe(1);
          const count = (what: string) => said.filter((l) => l === what).length;
          await waitFor('the daemon saw every connection close', () => count('closed') === count('conn'));
        } finally {
          await tell('mute 0');
        }
      });

      test('a daemon slow at every step: the handshake timeout bounds the whole open, and close() does not wait for an access check still under way', async () => {
        // Each handshake takes 60 % of the timeout: the program's connection passes, the access
        // check's does not fit in what is left. With a timeout per step the check went on (its
        // connection, then a request the daemon holds) long after the program had been refused,
        // and close() waited for it.
        await tell(`slow ${Math.round(HANDSHAKE_MS * 0.6)}`);
        await tell('mute 1');
        const held = () => said.filter((l) => l === 'held').length;
        const heldBefore = held();
        try {
          const got = await hostileOpen('slow', '-', asNobody);
          expect(got.program).toEqual({ code: 0, stdout: 'EAGAIN\n', stderr: '' });
          expect(held() - heldBefore).toBe(0);
          const count = (what: string) => said.filter((l) => l === what).length;
          await waitFor('the daemon saw every connection close', () => count('closed') === count('conn'));
        } finally {
          await tell('mute 0');
          await tell('slow 0');
        }
      });

      test('the upstream worker lets go of an open under way at once when told to close it, or to stop', async () => {
        const r = await ns.exec([process.execPath, fixture('worker-stop.mjs')], { timeout: 60_000, env: await crashTraceEnv() });
        expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
        const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { code: number; freed: string[]; before: unknown; after: unknown; verdict: string };
        // 'close': the held connection's socket, and nothing else.
        expect(got.freed).toEqual([expect.stringMatching(/^\d+ socket:\[\d+\]$/)]);
        // 'stop': the thread ended on its own, with the other held connection closed.
        expect(got.code).toBe(0);
        expect(got.after).toEqual(got.before);
        expect(got.verdict).toBe('0');
      });

      test('a name squatted by a server that takes the connection and never answers the handshake: the program gets EAGAIN, the tap lets go of it', async () => {
        const got = await hostileOpen('squat', 'cfg', [process.execPath, fixture('connect-once.mjs'), 'cfg']);
        expect(got.program).toEqual({ code: 0, stdout: 'EAGAIN\n', stderr: '' });
        expect(got.held).toBe(1);
      });
    });
  }
});
