// The child side alone: this test plays libsam's supervisor on fds 3/4 and checks every byte the
// child writes, and that the child acts on the supervisor's replies (including an error reply).
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { crashTraceEnv } from '@corosync-ts/nstest/core';
import { CS_ERR_NO_RESOURCES } from '@corosync-ts/types';
import { encodeMarker } from '../../src/sam/protocol.js';
import { ByteReader } from '../../src/sam/reader.js';
import { PACKAGE_DIR, fixtureArgv } from './helpers.js';

const children: number[] = [];
afterAll(() => {
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

describe('sam child protocol, against a scripted supervisor', () => {
  it('writes libsam bytes, waits for replies where libsam does, heartbeats every interval/4 with the callback every 4th', { timeout: 60_000 }, async () => {
    const [node, ...args] = fixtureArgv('child-proto.ts', []);
    const marker = encodeMarker({
      instanceId: 5,
      commandFd: 3,
      replyFd: 4,
      timeInterval: 400,
      policy: 0x12,
      warnSignal: 15,
      supervisorPid: process.pid,
    });
    const child = spawn(node!, args, {
      cwd: PACKAGE_DIR,
      env: await crashTraceEnv({ ...process.env, COROSYNC_TS_SAM_CHILD: marker }),
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    children.push(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    const commands = new ByteReader(child.stdio[3] as Socket);
    const replies = child.stdio[4] as Socket;
    const hex = async (n: number) => (await commands.read(n))?.toString('hex');

    // What fork() would have copied: the supervisor's stored data.
    const seed = Buffer.from('seed');
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(seed.length));
    replies.write(Buffer.concat([head, seed]));

    expect(await hex(1)).toBe('03');
    expect(await hex(8)).toBe('0a00000000000000');
    expect(await hex(10)).toBe(Buffer.from('hello-sam\0').toString('hex'));
    replies.write(Buffer.of(0));
    expect(await hex(5)).toBe('040f000000');
    replies.write(Buffer.of(0));
    expect(await hex(1)).toBe('00'); // START; CMAP policy: the child waits for this reply
    replies.write(Buffer.of(0));

    let heartbeats = 0;
    for (;;) {
      const b = await hex(1);
      if (b === '02') heartbeats++;
      else {
        expect(b).toBe('01'); // STOP
        break;
      }
    }
    replies.write(Buffer.of(0));
    expect(await hex(1)).toBe('03');
    expect(await hex(8)).toBe('0300000000000000');
    expect(await hex(3)).toBe('010203');
    // An error reply: 1 + cs_error_t. The child must not keep the data it failed to store.
    const err = Buffer.alloc(5);
    err[0] = 1;
    err.writeInt32LE(CS_ERR_NO_RESOURCES, 1);
    replies.write(err);
    expect(await hex(1)).toBe('05'); // MARK_FAILED, no reply
    expect(await commands.read(1)).toBeNull(); // the child exited: EOF

    expect(await exited, stderr).toEqual({ code: 0, signal: null });
    expect(stderr).toBe('');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ what: 'registered', id: 5, restored: 'seed' });
    const stopped = lines[1] as { what: string; calls: number };
    expect(stopped.what).toBe('stopped');
    expect(stopped.calls).toBeGreaterThanOrEqual(2);
    // libsam's thread calls the callback after every 4th successful heartbeat.
    expect(heartbeats - 4 * stopped.calls).toBeGreaterThanOrEqual(0);
    expect(heartbeats - 4 * stopped.calls).toBeLessThan(4);
    expect(lines[2]).toEqual({ what: 'store-failed', code: CS_ERR_NO_RESOURCES, stillStored: 10 });
    expect(lines[3]).toEqual({ what: 'marked' });
  });
});
