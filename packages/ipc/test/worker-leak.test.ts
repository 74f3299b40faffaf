// Workers that end (terminate(), process.exit() in the worker) with a connection open, five in a
// row: what the connection held (its sockets, ring and control-file mappings) must go with the
// worker's env, and the server must see the client go and so remove the connection's files in
// /dev/shm. They stayed for the life of the process (3 fds per socket connection, 1 per shm
// connection), and the server kept each connection open. Each run is a process of its own.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { crashTraceEnv } from '@corosync-ts/nstest/core';

const script = fileURLToPath(new URL('./fixtures/worker-leak.mjs', import.meta.url));
const WORKERS = 5;
const LIMIT = 90_000;

for (const transport of ['socket', 'shm'] as const) {
  for (const how of ['terminate', 'exit'] as const) {
    it(`${transport}: ${WORKERS} workers that end by ${how} with a connection open leave no fd, mapping or file, and the server sees each go`, { timeout: 120_000 }, async () => {
      const env = await crashTraceEnv();
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [script, transport, how, String(WORKERS)], { env, timeout: LIMIT, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          // A signal, the timeout's SIGKILL and an exit code all come with an empty stderr when
          // nothing printed: say which it was, and the steps the fixture reached (its stdout).
          const end = err.killed ? `killed by the ${LIMIT / 1000} s timeout` : err.signal ? `signal ${err.signal}` : `exit code ${err.code}`;
          reject(new Error(`the fixture ended: ${end}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        });
      });
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({
        opened: WORKERS,
        closed: WORKERS,
        allClosed: true,
        fdsLeft: [],
        mapsLeft: [],
        shmLeft: [],
      });
    });
  }
}
