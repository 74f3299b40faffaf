import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MOCK_CLI = fileURLToPath(new URL('../../packages/testkit/dist/cli.js', import.meta.url));

/**
 * `corosync-mock` (one node) in a process of its own, serving `transport` under `prefix`, so that
 * a client process does only what a client does; resolves once it serves. Returns its stop.
 */
export async function startMockProcess(transport, prefix) {
  const child = spawn(process.execPath, [MOCK_CLI, '--nodes', '1', '--transport', transport, '--prefix', prefix], { stdio: ['pipe', 'pipe', 'pipe'] });
  const ready = new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => reject(new Error(`corosync-mock exited (${code}): ${err}`)));
    const lines = createInterface({ input: child.stdout });
    const errLines = createInterface({ input: child.stderr });
    for (const l of [lines, errLines]) l.on('line', (line) => line.includes(' serving ') && resolve());
  });
  await ready;
  child.removeAllListeners('exit');
  return async () => {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  };
}
