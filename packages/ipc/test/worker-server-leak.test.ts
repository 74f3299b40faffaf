// An IpcServer in a worker_threads Worker that ends (terminate(), process.exit() in the worker)
// with clients connected, five in a row, two clients each in the main thread. Its connections'
// directories, ring and control files in /dev/shm must go with the worker's env: created
// through Node's fs, they stayed for the life of the process after terminate() (shm clients
// remove a server's files only once its process is dead, and the process is their own).
// The clients must see their server go, and nothing they held may stay once they close.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { crashTraceEnv } from '@corosync-ts/nstest/core';

const script = fileURLToPath(new URL('./fixtures/worker-server-leak.mjs', import.meta.url));
const WORKERS = 5;
const CLIENTS = 2;
const LIMIT = 90_000;

for (const transport of ['shm', 'socket'] as const) {
  for (const how of ['terminate', 'exit'] as const) {
    it(`${transport}: ${WORKERS} server workers that end by ${how} with clients connected leave no /dev/shm file, fd or mapping`, { timeout: 120_000 }, async () => {
      const env = await crashTraceEnv();
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [script, transport, how, String(WORKERS), String(CLIENTS)], { env, timeout: LIMIT, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          // A signal, the timeout's SIGKILL and an exit code all come with an empty stderr when
          // nothing printed: say which it was, and the steps the fixture reached (its stdout).
          const end = err.killed ? `killed by the ${LIMIT / 1000} s timeout` : err.signal ? `signal ${err.signal}` : `exit code ${err.code}`;
          reject(new Error(`the fixture ended: ${end}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        });
      });
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({
        dirsWhileOpen: Array(WORKERS).fill(CLIENTS),
        sawGo: Array(WORKERS).fill(true),
        // terminate() ends a worker with 1, its own process.exit(0) with 0
        exitCodes: Array(WORKERS).fill(how === 'terminate' ? 1 : 0),
        workerErrors: [],
        shmLeft: [],
        fdsLeft: [],
        mapsLeft: [],
      });
    });
  }
}
