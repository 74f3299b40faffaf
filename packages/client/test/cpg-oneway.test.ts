// A loop of large multicasts that never waits for the daemon, against one that reads nothing
// (corosync-mock in another process, stopped with SIGSTOP): libcpg's cpg_mcast_joined is refused
// with CS_ERR_TRY_AGAIN as soon as the request ring (qb_rb_chunk_alloc) or socket is full, so
// must mcastJoined be, with nothing queued in the transport meanwhile; every message accepted is
// delivered once, in order; with the `retry` option the same loop carries through the refusals.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect as ipcConnect, type ConnectOptions, type IpcClient } from '@corosync-ts/ipc';
import { crashTraceEnv } from '@corosync-ts/nstest/core';
import { CS_ERR_TRY_AGAIN, CsError, isCsError } from '@corosync-ts/types';
import { CpgHandle } from '../src/index.js';

const CLI = fileURLToPath(new URL('../../testkit/src/cli.ts', import.meta.url));
const SIZE = 1_000_000;
/** What a transport may hold for one-way requests: the socket cork's turn (512 KiB) and a frame. */
const HELD_MAX = 512 * 1024 + SIZE + 64;

const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
async function until(what: () => boolean, why: string): Promise<void> {
  for (let i = 0; !what(); i++) {
    if (i > 6000) throw new Error(`still waiting for ${why}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const transport of ['socket', 'shm'] as const) {
  describe(`one-way multicasts against a daemon that reads nothing (${transport})`, () => {
    let child: ChildProcess;
    const prefix = `cts-oneway-${transport}-${process.pid}-`;
    /** Stops or resumes the daemon, and waits until it is so. */
    const daemon = async (sig: 'SIGSTOP' | 'SIGCONT') => {
      child.kill(sig);
      await until(() => (state(child.pid!) === 'T') === (sig === 'SIGSTOP'), sig);
    };

    beforeAll(async () => {
      child = spawn(process.execPath, ['--import', 'tsx', CLI, '--nodes', '1', '--prefix', prefix, '--transport', transport], {
        cwd: fileURLToPath(new URL('../../testkit', import.meta.url)),
        stdio: ['ignore', 'ignore', 'pipe'],
        env: await crashTraceEnv(),
      });
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      await until(() => /serving/.test(err) || child.exitCode !== null, 'corosync-mock to serve');
      expect(err).toMatch(/serving/);
    }, 120_000);

    afterAll(async () => {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await exited;
    });

    it('an unpaced loop is refused with TRY_AGAIN once the channel is full, nothing queued; with retry it carries through, every message once in order', async () => {
      let ipc: IpcClient | undefined;
      let refusals = 0;
      const connect = async (name: string, opts: ConnectOptions) => {
        const c = await ipcConnect(name, opts);
        const send = c.send.bind(c);
        c.send = async (frame, o) => {
          try {
            return await send(frame, o);
          } catch (e) {
            if ((e as { code?: string }).code === 'EAGAIN') refusals++;
            throw e;
          }
        };
        ipc = c;
        return c;
      };
      const seqs: number[] = [];
      let joined = false;
      const h = await CpgHandle.initialize(
        {
          deliverFn: ({ msg, pid }) => {
            expect(pid).toBe(process.pid);
            expect(msg.length).toBe(SIZE);
            seqs.push(Buffer.from(msg.buffer, msg.byteOffset, 4).readUInt32LE(0));
          },
          confchgFn: () => (joined = true),
        },
        { ipcPrefix: prefix, connect },
      );
      await h.join('oneway');
      await until(() => joined, 'the join');
      const out = () => (ipc as unknown as { impl: { out: { bytes: number } } }).impl.out.bytes;
      const message = (seq: number) => {
        const m = new Uint8Array(SIZE).fill(seq & 0xff);
        Buffer.from(m.buffer).writeUInt32LE(seq, 0);
        return m;
      };

      const limit = Error.stackTraceLimit;
      await daemon('SIGSTOP');
      let seq = 0;
      let refused: unknown;
      let held = 0;
      for (; seq < 50; seq++) {
        try {
          await h.mcastJoined(2, message(seq));
        } catch (e) {
          refused = e;
          break;
        }
        held = Math.max(held, out());
      }
      // libcpg: one such message fills the ring; the socket's send buffer (2 MiB) takes two
      expect(refused).toBeInstanceOf(CsError);
      expect(isCsError(refused, CS_ERR_TRY_AGAIN)).toBe(true);
      expect((refused as CsError).operation).toBe('cpg.mcastJoined');
      // A loop's flow-control signal, as libcpg's int: no stack trace is captured for it (an
      // optimized caller's cost more than the send); the stack trace limit is left as it was.
      expect((refused as Error).stack).not.toMatch(/\n\s+at /);
      expect(((refused as Error).cause as Error).stack).not.toMatch(/\n\s+at /);
      expect(Error.stackTraceLimit).toBe(limit);
      expect(seq).toBeGreaterThan(0);
      expect(seq).toBeLessThan(5);
      expect(held).toBeLessThanOrEqual(HELD_MAX);
      expect(out()).toBeLessThanOrEqual(HELD_MAX);
      const accepted = seq;
      await daemon('SIGCONT');
      await until(() => seqs.length >= accepted, 'the accepted messages');
      expect(seqs).toEqual(Array.from({ length: accepted }, (_, i) => i));

      // The same loop with `retry` (the loop users write around TRY_AGAIN), the daemon stopped
      // until it has been refused: every message goes once the daemon reads again.
      await daemon('SIGSTOP');
      const retry = { retries: 1_000_000, initialDelay: 1, maxDelay: 5 };
      const total = accepted + 12;
      const loop = (async () => {
        for (; seq < total; seq++) {
          await h.mcastJoined(2, message(seq), { retry });
          held = Math.max(held, out());
        }
      })();
      await until(() => refusals > 0, 'a refusal');
      expect(seq).toBeLessThan(total);
      await daemon('SIGCONT');
      await loop;
      await until(() => seqs.length >= total, 'every message');
      expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i));
      expect(held).toBeLessThanOrEqual(HELD_MAX);
      await h.finalize();
    }, 120_000);
  });
}
