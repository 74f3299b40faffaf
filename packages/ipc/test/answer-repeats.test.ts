// IpcServerConnection.answerRepeats(): a repeat of one request answered by the transport's
// native watcher, without a 'request' event, and everything that must stop it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readCapture } from '@corosync-ts/codec-wasm';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { connect, createServer, invalidateAnswers, type IpcClient, type IpcServer, type IpcServerConnection } from '../src/index.js';
import { CaptureWriter } from '../src/capture-writer.js';
import { native } from '../src/native.js';
import type { Ring } from '../src/ring.js';
import { echoed, header, reqFrame, shmFiles, shmMappings, uniqueName, until } from './helpers.js';

const repeatClient = fileURLToPath(new URL('./fixtures/repeat-client.mjs', import.meta.url));
const waitServer = fileURLToPath(new URL('./fixtures/wait-server.mjs', import.meta.url));
/** How long B's request may take to reach JS once the wait on A can have begun: generous, as it only bounds a failure. */
const WAIT_DEADLINE_MS = 15_000;

for (const transport of ['socket', 'shm'] as const) {
  describe(`answerRepeats over ${transport}`, () => {
    let server: IpcServer;
    let name: string;
    let conn: IpcServerConnection | undefined;
    /** Requests that reached JS ('request' events), in order. */
    let seen: number[];
    /** Whether the listener arms the answer of what it just answered. */
    let arm: boolean;
    let armed: boolean[];

    /** `also` gets each connection after the test's own listener is on it. */
    const start = async (opts: { capture?: CaptureWriter } = {}, also?: (c: IpcServerConnection) => void) => {
      server = createServer(name, { transport, ...opts });
      server.on('connection', (c) => {
        conn = c;
        c.on('request', (f) => {
          seen.push(header(f).id);
          const res = echoed(f);
          c.respond(res);
          if (arm) armed.push(c.answerRepeats(f, res));
        });
        also?.(c);
      });
      await server.listen();
    };

    beforeEach(() => {
      name = uniqueName(`ans-${transport}`);
      seen = [];
      arm = true;
      armed = [];
      conn = undefined;
    });

    afterEach(async () => {
      await server.close();
      expect(shmFiles()).toEqual([]);
      expect(shmMappings()).toEqual([]);
    });

    /** `n` sequential round trips of `frame`; every answer must be its echo. */
    const repeat = async (c: IpcClient, frame: Uint8Array, n: number) => {
      for (let i = 0; i < n; i++) expect(await c.request(frame)).toEqual(echoed(frame));
    };

    it('answers repeats of the armed request itself, counted; other requests still come to JS', async () => {
      await start();
      const c = await connect(name);
      const get = reqFrame(7, 64, 3);
      await repeat(c, get, 50);
      expect(armed).toEqual([true]);
      expect(seen).toEqual([7]);
      expect(conn!.answered()).toBe(49);
      expect(conn!.answered()).toBe(0);
      // one byte different: JS answers it (and arms that one instead)
      const other = reqFrame(7, 64, 3);
      other[63] = 4;
      await repeat(c, other, 1);
      await repeat(c, get, 1);
      expect(seen).toEqual([7, 7, 7]);
      // same bytes, longer frame
      await repeat(c, reqFrame(7, 68, 3), 1);
      expect(seen).toHaveLength(4);
      await c.close();
    });

    it('invalidateAnswers(), stopAnswering() and a flow-control change each send the next repeat to JS', async () => {
      await start();
      const c = await connect(name);
      const get = reqFrame(9, 40, 1);
      await repeat(c, get, 3);
      expect(seen).toHaveLength(1);
      invalidateAnswers();
      await repeat(c, get, 3);
      expect(seen).toHaveLength(2);
      conn!.stopAnswering();
      await repeat(c, get, 3);
      expect(seen).toHaveLength(3);
      // level 2 does not stop a libqb client's sends, so the request comes and must reach JS
      conn!.setFlowControl(2);
      await repeat(c, get, 1);
      expect(seen).toHaveLength(4);
      // and it is not armed while under flow control
      await repeat(c, get, 2);
      expect(seen).toHaveLength(6);
      expect(armed.slice(-3)).toEqual([false, false, false]);
      conn!.setFlowControl(0);
      await repeat(c, get, 3);
      expect(seen).toHaveLength(7);
      await c.close();
    });

    it('is refused while the connection is recorded: the capture gets every frame', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ans-cap-'));
      const file = join(dir, 'cap.jsonl');
      const cap = CaptureWriter.open(file, { mode: 'mock', name: 'answer-repeats', version: '0' });
      await start({ capture: cap });
      const c = await connect(name);
      const get = reqFrame(5, 32, 2);
      await repeat(c, get, 10);
      expect(armed).toEqual(Array(10).fill(false));
      expect(seen).toHaveLength(10);
      await c.close();
      await server.close();
      await cap.close();
      const frames = (await readCapture(readFileSync(file))).records.filter((r) => r.kind === 'frame' && (r.dir === 'req' || r.dir === 'res'));
      expect(frames).toHaveLength(20);
      rmSync(dir, { recursive: true });
    });

    it('a closed connection answers nothing more and leaves nothing behind; a new one starts unarmed', async () => {
      await start();
      const get = reqFrame(3, 48, 9);
      const c1 = await connect(name);
      await repeat(c1, get, 5);
      const first = conn!;
      await c1.close();
      await until(() => first.closed);
      expect(first.answered()).toBe(0);
      const c2 = await connect(name);
      await repeat(c2, get, 5);
      expect(seen).toHaveLength(2);
      await c2.close();
    });

    it('the server closing with an armed connection closes it as any other', async () => {
      await start();
      const c = await connect(name);
      await repeat(c, reqFrame(4, 24, 1), 3);
      const closed = new Promise((r) => c.once('disconnect', r));
      await server.close();
      await closed;
      await c.close();
    });

    // The watcher waits for the next repeat inside its callback (answer_wait in the addon): the
    // loop's own work must still run meanwhile, and no request may be lost or answered twice.
    // The client is another process, so that its requests come while this loop waits.
    const repeater = async (depth: number, max = 0) => {
      await start();
      const child = spawn(process.execPath, [repeatClient, name, '40', '2', String(depth), String(max)], { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      expect((await lines.next()).value).toBe('connected');
      await until(() => conn !== undefined);
      const streamed = conn!;
      let answered = 0;
      const count = () => (answered += streamed.answered());
      const fromChild = () => seen.filter((id) => id === 7).length;
      /** Stops the child, checks what it was answered, and waits for its exit. */
      const finish = async () => {
        child.stdin!.write('stop\n');
        const sent = Number((await lines.next()).value);
        // every request the child sent was answered exactly once, by the watcher or by JS
        expect(count() + fromChild()).toBe(sent);
        const exited = new Promise((r) => child.once('exit', r));
        child.stdin!.end();
        await exited;
        expect(child.exitCode).toBe(0);
        return sent;
      };
      return { count, fromChild, finish };
    };

    it('a timer fires while the watcher waits for a repeat that does not come', async () => {
      // the 2nd and 3rd are answered natively; then the child is silent, and only the loop's
      // timeout can end the watcher's wait for the next one: until() polls on timers
      const { count, fromChild, finish } = await repeater(1, 3);
      await until(() => count() + fromChild() === 3);
      expect(await finish()).toBe(3);
      expect(fromChild()).toBe(1);
    });

    it('spins for the next repeat only while they come: once they stop, an idle second costs this process next to no CPU', async () => {
      // The watcher spins for a while after each answer (answer_spin in the addon); a spin that
      // sees nothing makes the next waits sleep at once. A spin that never ended would hold this
      // timer back, one that started again at every loop turn would use the whole second.
      const { count, fromChild, finish } = await repeater(1, 3000);
      await until(() => count() + fromChild() === 3000);
      const before = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 1000));
      const used = process.cpuUsage(before);
      expect((used.user + used.system) / 1000).toBeLessThan(100);
      expect(await finish()).toBe(3000);
    });

    it('two processes streaming repeats are both served: the wait for one ends at the other\'s request', async () => {
      // Each watcher waits (spins, then sleeps) for its own client's next repeat, and with 16 in
      // flight it mostly finds one queued; the other's requests make the loop's epoll fd readable,
      // which the wait polls, and a watcher gives the loop its turn after 64 answers at most:
      // neither stream may stall behind the other.
      const conns: IpcServerConnection[] = [];
      await start({}, (c) => conns.push(c));
      const children = [2, 3].map((fill) => {
        const child = spawn(process.execPath, [repeatClient, name, '40', String(fill), '16'], { stdio: ['pipe', 'pipe', 'inherit'] });
        return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
      });
      for (const { lines } of children) expect((await lines.next()).value).toBe('connected');
      await until(() => conns.length === 2);
      let answered = [0, 0];
      const count = () => (answered = answered.map((n, i) => n + conns[i]!.answered()));
      // both streams go on: each one's count keeps growing while the other streams
      for (let step = 0; step < 4; step++) {
        const before = [...answered];
        await until(() => (count(), answered.every((n, i) => n > (before[i] ?? 0) + 200)));
      }
      for (const { child, lines } of children) {
        child.stdin!.write('stop\n');
        const sent = Number((await lines.next()).value);
        expect(sent).toBeGreaterThan(800);
        const exited = new Promise((r) => child.once('exit', r));
        child.stdin!.end();
        await exited;
        expect(child.exitCode).toBe(0);
      }
      count();
      // every request but each connection's first (JS answered it, and armed the watcher)
      expect(seen).toHaveLength(2);
    });

    it("a repeat sent while JS still answers the request that armed it is the watcher's", async () => {
      // The listener that arms the answer sends the repeat itself (this process is the client
      // too): it is queued, over shm with its doorbell, before that request's read pass ends, and
      // a pass reading on would take it to JS. Both answers are said to be small, or the client
      // would hold the repeat back until the first answer left room in its channel.
      const get = reqFrame(6, 40, 4);
      const small = { maxResponseSize: echoed(get).length };
      let repeated: Promise<Uint8Array> | undefined;
      await start({}, (sc) => sc.on('request', () => (repeated ??= c.request(get, small))));
      const c = await connect(name);
      expect(await c.request(get, small)).toEqual(echoed(get));
      expect(await repeated).toEqual(echoed(get));
      expect(seen).toEqual([6]);
      expect(conn!.answered()).toBe(1);
      await c.close();
    });

    for (const depth of [1, 16]) {
      it(`while another process streams repeats (${depth} at a time), timers, other connections and invalidations still run`, async () => {
        const { count, fromChild, finish } = await repeater(depth);
        await until(() => count() > 500);
        // timers: each one fires while the stream goes on (the answers keep coming between them)
        for (let i = 0; i < 5; i++) {
          const before = count();
          await new Promise((r) => setTimeout(r, 2));
          await until(() => count() > before);
        }
        // another connection of this loop, and a new one accepted meanwhile
        const c2 = await connect(name);
        await repeat(c2, reqFrame(3, 56, 5), 20);
        // JS changing what would be answered: the next repeat comes to JS
        const inJs = fromChild();
        invalidateAnswers();
        await until(() => fromChild() > inJs);
        await c2.close();
        expect((await finish()) - fromChild()).toBeGreaterThan(500);
      });
    }

    if (transport === 'shm') {
      it("a repeat posted behind the one whose doorbell woke the watcher is answered before its own doorbell, which is then taken as its", async () => {
        await start();
        const c = await connect(name);
        const get = reqFrame(5, 40, 2);
        await repeat(c, get, 1);
        // Two repeats published and posted as a libqb client does, then one doorbell byte: the
        // second one's byte is late (its client preempted between its post and its send)
        const rings = (c as unknown as { impl: { request: Ring; response: Ring } }).impl;
        expect(rings.request.writeRung(get, -1)).toBe(0);
        expect(rings.request.writeRung(get, -1)).toBe(0);
        expect(native().send(c.setupWatch.fd, new Uint8Array(1))).toBe(1);
        let answered = 0;
        await until(() => (answered += conn!.answered()) === 2);
        // both answers taken as the client would take them, so that its next request reads its own
        for (let i = 0; i < 2; i++) {
          expect(rings.response.tryTake()).toBe(true);
          expect(rings.response.read()).toEqual(echoed(get));
        }
        // the late byte belongs to a request answered already: no request without a chunk for JS
        expect(native().send(c.setupWatch.fd, new Uint8Array(1))).toBe(1);
        await repeat(c, get, 3);
        expect(seen).toEqual([5]);
        expect(answered + conn!.answered()).toBe(5);
        await c.close();
      });
    }

    it('an answer the client has not taken yet stops it: repeats queue behind it, in order', async () => {
      await start();
      const c = await connect(name, { maxMessageSize: 128 * 1024 });
      const get = reqFrame(8, 64, 6);
      await repeat(c, get, 2);
      expect(seen).toHaveLength(1);
      // other requests get answers of 100,000 bytes: twenty do not fit the channel at once
      arm = false;
      conn!.removeAllListeners('request');
      let waiting = false;
      conn!.on('request', (f) => {
        seen.push(header(f).id);
        if (f[63] !== 7) return conn!.respond(echoed(f));
        const out = new Uint8Array(100_000);
        out.set(echoed(f).subarray(0, 24));
        new DataView(out.buffer).setInt32(8, out.length, true);
        conn!.respond(out);
        if (conn!.queued.responses > 0) waiting = true;
      });
      const other = reqFrame(8, 64, 7);
      // each said to be small: the client sends them all at once, as one that ignores its channel would
      const bigs = Array.from({ length: 20 }, () => c.request(other, { maxResponseSize: 24 }));
      // the repeats come once answers wait in the server (the client making room for some
      // meanwhile): the armed answer must not pass them
      await until(() => waiting);
      const gets = Array.from({ length: 5 }, () => c.request(get, { maxResponseSize: 128 * 1024 }));
      const answers = await Promise.all([...bigs, ...gets]);
      expect(answers.map((a) => a.length)).toEqual([...Array(20).fill(100_000), ...Array(5).fill(echoed(get).length)]);
      await c.close();
    });
  });

  describe(`the answer wait over ${transport}`, () => {
    // B's request (id 8) must reach JS while connection A's watcher waits for A's next repeat
    // (id 7), which does not come until B is answered. The server is a process of its own
    // (wait-server.mjs says why); B coming before its deadline is the whole assertion, and
    // every request of A and B answered once, A's after the first natively.
    const waitEnds = async (mode: 'other' | 'new', sentA: number) => {
      const server = spawn(process.execPath, ['--no-memory-reducer', waitServer, transport, mode, String(WAIT_DEADLINE_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
      onTestFinished(() => {
        if (server.exitCode === null) server.kill();
      });
      const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
      const result = JSON.parse((await lines.next()).value as string);
      expect(result).toEqual({
        first: mode === 'other' ? 'connected' : 'ready',
        order: ['B'],
        conns: 2,
        sentA,
        sentB: 1,
        answeredA: sentA - 1,
        jsA: 1,
        answeredB: 0,
        jsB: 1,
        exit: 0,
      });
      await new Promise((r) => (server.exitCode === null ? server.once('exit', r) : r(undefined)));
      expect(server.exitCode).toBe(0);
    };

    it("a request on another connection ends the wait for the armed connection's next repeat", async () => {
      await waitEnds('other', 6);
    });

    it("a connection accepted in the armed connection's wake-up is served before its wait", async () => {
      await waitEnds('new', 5);
    });
  });
}
