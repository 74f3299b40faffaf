// A process that hosts a server and dies with connections open (an uncaught exception in a test
// that runs the mock in-process, or process.exit()) must not leave its connections' files in
// /dev/shm: nobody else removes them once its own clients died with it.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { crashTraceEnv } from '@corosync-ts/nstest/core';
import { shmFiles, uniqueName } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/crash-server.ts', import.meta.url));

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = await crashTraceEnv();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

for (const transport of ['socket', 'shm'] as const) {
  it(`${transport}: a server process that dies of an uncaught exception leaves no files in /dev/shm`, async () => {
    const r = await run([uniqueName('crash'), transport, 'throw']);
    expect(r.stderr).toContain('crash-server: the uncaught exception');
    expect(r.code, r.stderr).toBe(1);
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    expect(shmFiles(pid)).toEqual([]);
  });

  it(`${transport}: a server process that calls process.exit() with a client connected leaves no files in /dev/shm`, async () => {
    const r = await run([uniqueName('exit'), transport, 'exit']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toBe('');
    expect(shmFiles(Number(r.stdout.trim()))).toEqual([]);
  });
}
