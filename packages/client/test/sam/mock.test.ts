// QUORUM_RESTART|CMAP against the @corosync-ts/testkit mock daemon: its simulator starts and kills
// nodes, the supervisor (a separate process reaching the mock through ipcPrefix) follows quorum.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { crashTraceEnv } from '@corosync-ts/nstest/core';
import { startMockCorosync, type MockCorosync } from '@corosync-ts/testkit';
import { CS_ERR_NO_SECTIONS, isCsError } from '@corosync-ts/types';
import { CmapHandle } from '../../src/cmap.js';
import { PACKAGE_DIR, fixtureArgv } from './helpers.js';

type Line = Record<string, unknown>;
interface Program {
  lines: Line[];
  exit: { code: number | null; signal: string | null } | undefined;
  stderr: string;
}

async function samKeys(prefix: string): Promise<Record<string, unknown>> {
  await using h = await CmapHandle.initialize({ ipcPrefix: prefix });
  const out: Record<string, unknown> = {};
  const iter = await h.iterInit('resources.process.');
  for (;;) {
    try {
      const { keyName } = await h.iterNext(iter);
      out[keyName.replace(/^resources\.process\.\d+\./, '')] = (await h.get(keyName)).value;
    } catch (e) {
      if (isCsError(e, CS_ERR_NO_SECTIONS)) break;
      throw e;
    }
  }
  await h.iterFinalize(iter);
  return out;
}

async function until(what: string, fn: () => boolean | Promise<boolean>, detail: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sam QUORUM policy against the testkit mock daemon', () => {
  let mock: MockCorosync | undefined;
  let program: ChildProcess | undefined;

  /** quorum.ts in its own process group with the crash trace preloaded, its JSON lines and stderr collected as they come. */
  async function startProgram(args: string[]): Promise<Program> {
    const out: Program = { lines: [], exit: undefined, stderr: '' };
    const [node, ...rest] = fixtureArgv('quorum.ts', args);
    program = spawn(node!, rest, { cwd: PACKAGE_DIR, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: await crashTraceEnv() });
    program.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
    let buf = '';
    program.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) out.lines.push(JSON.parse(line) as Line);
      }
    });
    program.on('exit', (code, signal) => (out.exit = { code, signal }));
    return out;
  }
  afterEach(async () => {
    if (program?.pid) {
      try {
        process.kill(-program.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await mock?.close();
  });

  it('start waits for quorum, quorum loss warns and restarts, a clean quit deletes the keys', { timeout: 120_000 }, async () => {
    // Node 1 of 3 alone: not quorate.
    mock = await startMockCorosync({ nodes: 3, start: [1] });
    const m = mock;
    const p = await startProgram(['2000', 'restart', m.prefix]);
    const lines = p.lines;
    const seen = (what: string, instance: number) => lines.some((l) => l.child === what && l.instance === instance);
    const detail = () => `${JSON.stringify(lines)}\nstderr:\n${p.stderr}`;
    const state = async () => (await samKeys(m.prefix)).state;

    await until('instance 1 waiting for quorum', async () => seen('starting', 1) && (await state()) === 'waiting for quorum', detail);
    const waiting = await samKeys(m.prefix);
    expect(waiting).toMatchObject({ recovery: 'restart', poll_period: 2000n, state: 'waiting for quorum' });
    expect(typeof waiting.last_updated).toBe('bigint');
    expect(seen('started', 1)).toBe(false);

    m.cluster.node(2).start();
    await m.settle();
    await until('instance 1 started', async () => seen('started', 1) && (await state()) === 'running', detail);

    m.cluster.node(2).kill();
    await m.settle();
    await until('instance 2 waiting for quorum', async () => seen('starting', 2) && (await state()) === 'waiting for quorum', detail);
    const sup = lines.filter((l) => l.sup).map((l) => l.sup as Line);
    expect(sup.map((e) => `${e.type}:${e.instanceId}`)).toEqual(['spawn:1', 'warn:1', 'exit:1', 'spawn:2']);
    expect(sup[2]).toMatchObject({ signal: 'SIGTERM', next: 'restart' });

    m.cluster.node(2).start();
    await m.settle();
    await until('instance 2 done and supervisor gone', () => seen('done', 2) && p.exit !== undefined, detail);
    expect(p.exit, p.stderr).toEqual({ code: 0, signal: null });
    expect(await samKeys(m.prefix)).toEqual({});
    expect(m.errors).toEqual([]);
  });

  it('QUORUM_QUIT: quorum loss ends the supervisor, the keys stay with state "failed"', { timeout: 120_000 }, async () => {
    mock = await startMockCorosync({ nodes: 3, start: [1, 2] });
    const m = mock;
    const p = await startProgram(['2000', 'quit', m.prefix]);
    const lines = p.lines;
    const detail = () => `${JSON.stringify(lines)}\nstderr:\n${p.stderr}`;

    // Quorate from the start: start() does not wait.
    await until('instance 1 started', async () => lines.some((l) => l.child === 'started') && (await samKeys(m.prefix)).state === 'running', detail);
    m.cluster.partition([1], [2, 3]);
    await m.settle();
    await until('supervisor gone', () => p.exit !== undefined, detail);
    expect(p.exit, p.stderr).toEqual({ code: 0, signal: null });
    expect(await samKeys(m.prefix)).toMatchObject({ recovery: 'quit', poll_period: 2000n, state: 'failed' });
    const sup = lines.filter((l) => l.sup).map((l) => l.sup as Line);
    expect(sup.map((e) => `${e.type}:${e.instanceId}`)).toEqual(['spawn:1', 'warn:1', 'exit:1']);
    expect(sup[2]).toMatchObject({ signal: 'SIGTERM', next: 'quit' });
  });
});
