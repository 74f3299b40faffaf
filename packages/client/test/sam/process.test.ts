// The supervisor/child process model without a daemon: QUIT and RESTART, application-driven and
// event-driven health checks, the warn-then-kill escalation, stored data across restarts.
import { afterAll, describe, expect, it } from 'vitest';
import { SAM_RECOVERY_POLICY_QUIT, SAM_RECOVERY_POLICY_RESTART } from '@corosync-ts/types';
import { crashTraceEnv } from '@corosync-ts/nstest/core';
import { PACKAGE_DIR, TSX_IMPORT, childLines, ended, killAll, run, runFixture, supEvents, type Run } from './helpers.js';

// Short intervals keep the tests quick; nothing below depends on how long anything took.
const INTERVAL = '2000';
afterAll(killAll);

function types(r: Run): string[] {
  return supEvents(r).map((e) => `${e.type}:${e.instanceId}`);
}

describe('sam process model', { timeout: 60_000 }, () => {
  it('RESTART: a child that stops sending heartbeats is warned, then killed and restarted with the stored data', async () => {
    const r = await runFixture('health.ts', ['stall', INTERVAL, String(SAM_RECOVERY_POLICY_RESTART)]);
    expect(types(r), ended(r)).toEqual(['spawn:1', 'warn:1', 'kill:1', 'exit:1', 'spawn:2', 'exit:2']);
    const ev = supEvents(r);
    expect(ev[1]).toMatchObject({ type: 'warn', signal: 15 });
    expect(ev[3]).toMatchObject({ type: 'exit', signal: 'SIGKILL', next: 'restart' });
    expect(ev[5]).toMatchObject({ type: 'exit', code: 7, next: 'quit' });
    const child = childLines(r);
    // The warn signal reached the child's handler before the SIGKILL.
    expect(child.map((l) => `${l.child}:${l.instance}`)).toEqual([
      'registered:1',
      'stalling:1',
      'warned:1',
      'registered:2',
      'clean-exit:2',
    ]);
    expect(child[3]).toMatchObject({ restored: 'from-1' });
    // The marker is not passed on to the application's own subprocesses.
    expect(child[0]).toMatchObject({ markerInEnv: false });
    // Supervisor pid stays, children differ; the supervisor exits with the last child's status.
    expect(child[0]!.pid).not.toEqual(child[3]!.pid);
    expect(r.code, ended(r)).toBe(7);
  });

  it('RESTART: a child whose event loop is blocked misses its heartbeat, is warned, then killed', async () => {
    const r = await runFixture('health.ts', ['block', INTERVAL, String(SAM_RECOVERY_POLICY_RESTART)]);
    expect(types(r), ended(r)).toEqual(['spawn:1', 'warn:1', 'kill:1', 'exit:1', 'spawn:2', 'exit:2']);
    // The SIGTERM handler never ran: the loop was blocked.
    expect(childLines(r).map((l) => l.child)).toEqual(['registered', 'blocking', 'registered', 'clean-exit']);
    expect(supEvents(r)[3]).toMatchObject({ signal: 'SIGKILL' });
    expect(r.code, ended(r)).toBe(7);
  });

  it('QUIT: a child that stops sending heartbeats ends the supervisor (status 0, as WEXITSTATUS of a killed child)', async () => {
    const r = await runFixture('health.ts', ['stall', INTERVAL, String(SAM_RECOVERY_POLICY_QUIT)]);
    expect(types(r), ended(r)).toEqual(['spawn:1', 'warn:1', 'kill:1', 'exit:1']);
    expect(supEvents(r)[3]).toMatchObject({ signal: 'SIGKILL', next: 'quit' });
    expect(childLines(r).map((l) => l.child)).toEqual(['registered', 'stalling', 'warned']);
    expect(r.code, ended(r)).toBe(0);
  });

  it('event-driven: a health callback that fails stops the heartbeats; the next instance gets its callbacks and runs on', async () => {
    const r = await runFixture('health.ts', ['callback', INTERVAL, String(SAM_RECOVERY_POLICY_RESTART)]);
    expect(types(r), ended(r)).toEqual(['spawn:1', 'warn:1', 'kill:1', 'exit:1', 'spawn:2', 'exit:2']);
    expect(childLines(r).map((l) => `${l.child}:${l.instance}`)).toEqual([
      'registered:1',
      'callback:1',
      'callback:1',
      'warned:1',
      'registered:2',
      'clean-exit:2',
    ]);
    expect(r.code, ended(r)).toBe(7);
  });

  it('warn signal SIGKILL means no warning: the first missed interval kills', async () => {
    const r = await runFixture('health.ts', ['nowarn', INTERVAL, String(SAM_RECOVERY_POLICY_RESTART)]);
    // libsam "warns" with SIGKILL, and the child's EOF then counts as its failure.
    expect(types(r), ended(r)).toEqual(['spawn:1', 'warn:1', 'exit:1', 'spawn:2', 'exit:2']);
    expect(supEvents(r)[1]).toMatchObject({ signal: 9 });
    expect(childLines(r).map((l) => l.child)).toEqual(['registered', 'stalling', 'registered', 'clean-exit']);
    expect(r.code, ended(r)).toBe(7);
  });

  it('a warn signal set by the child is used by the supervisor', async () => {
    const r = await runFixture('health.ts', ['usr2', INTERVAL, String(SAM_RECOVERY_POLICY_QUIT)]);
    expect(types(r), ended(r)).toEqual(['spawn:1', 'warn:1', 'kill:1', 'exit:1']);
    expect(supEvents(r)[1]).toMatchObject({ signal: 12 });
    expect(childLines(r).map((l) => l.child)).toEqual(['registered', 'stalling', 'warned-usr2']);
    expect(r.code, ended(r)).toBe(0);
  });

  it('stored data (1 MiB) survives restarts, null deletes it; concurrent calls act one after the other', async () => {
    const r = await runFixture('data.ts', []);
    expect(r.stderr).toBe('');
    expect(r.code, ended(r)).toBe(0);
    expect(childLines(r)).toEqual([
      { child: 'size', instance: 1, size: 0 },
      { child: 'size', instance: 2, size: 1 << 20, intact: true },
      { child: 'restore-small', instance: 2, code: 7 },
      { child: 'restore-into', instance: 2, copied: 1 << 20, intact: true },
      { child: 'size', instance: 3, size: 0, restored: 0, into: 0 },
      { child: 'concurrent-start', instance: 3, codes: [1, 9], state: 'STARTED' },
      { child: 'concurrent-store', instance: 3, n: 2, last: [2, 2] },
      { child: 'concurrent-stop', instance: 3, codes: [1, 9], state: 'REGISTERED', bad: 9, invalid: 7 },
      { child: 'done', instance: 3, state: 'FINALIZED' },
    ]);
  });

  it('a child that exits while started is restarted (RESTART) or ends the supervisor with its status (QUIT)', async () => {
    const restart = await runFixture('health.ts', ['crash', INTERVAL, String(SAM_RECOVERY_POLICY_RESTART)]);
    expect(types(restart), ended(restart)).toEqual(['spawn:1', 'exit:1', 'spawn:2', 'exit:2']);
    expect(supEvents(restart)[1]).toMatchObject({ code: 5, next: 'restart' });
    expect(restart.code, ended(restart)).toBe(7);

    const quit = await runFixture('health.ts', ['crash', INTERVAL, String(SAM_RECOVERY_POLICY_QUIT)]);
    expect(types(quit), ended(quit)).toEqual(['spawn:1', 'exit:1']);
    expect(quit.code, ended(quit)).toBe(5);
  });

  it('a program given with -e is started again the same way; one read from stdin cannot be', async () => {
    const program = (lastLine: string) =>
      `import * as sam from '${PACKAGE_DIR}src/sam/index.ts';
       await sam.initialize(0, sam.SAM_RECOVERY_POLICY_QUIT);
       try { const id = await sam.register(); console.log('child', id, sam.isSupervisedChild()); process.exit(4); }
       catch (e) { ${lastLine} }`;
    const env = await crashTraceEnv();
    const inline = await run(process.execPath, ['--import', TSX_IMPORT, '--input-type=module', '-e', program('throw e;')], { env });
    expect(inline.stdout, ended(inline)).toBe('child 1 true\n');
    expect(inline.code, ended(inline)).toBe(4);

    const stdin = await run(process.execPath, ['--import', TSX_IMPORT, '--input-type=module'], {
      input: program("console.log(e.name, e.code, e.csName); process.exit(0);"),
      env,
    });
    expect(stdin.stdout, ended(stdin)).toBe('CsError 19 CS_ERR_NOT_SUPPORTED\n');
  });
});
