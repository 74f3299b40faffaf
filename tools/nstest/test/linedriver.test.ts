import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { LineDriver, settled } from '../src/index.js';

// A differential test runs one sequence on two sides (a real daemon, a mock), each side's run
// followed by a restart of its daemon when the sequence left a state that cannot be undone. When
// one side failed, the comparison used to reject at once, and the next sequence started on the
// other side while that side was still restarting its daemon: every call of that sequence then
// answered CS_ERR_LIBRARY there (or two restarts overlapped), and that was what fast-check showed.

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A macrotask turn: every promise reaction that was ready has run. */
const turn = () => new Promise<void>((r) => setImmediate(r));

it('settled(): a side that fails does not end the comparison before the other side (its restart included) is done', async () => {
  const real = deferred<string[]>();
  const mockRestarted = deferred<string[]>();
  let outcome: 'pending' | 'resolved' | 'rejected' = 'pending';
  let error: unknown;
  const comparison = settled<[string[], string[]]>([real.promise, mockRestarted.promise]).then(
    () => (outcome = 'resolved'),
    (e: unknown) => {
      outcome = 'rejected';
      error = e;
    },
  );
  real.reject(new Error('corosync 3.1.7 died'));
  await turn();
  // the mock is still being restarted: the next sequence must not start yet
  expect(outcome).toBe('pending');
  mockRestarted.resolve(['reset |0 CS_OK']);
  await comparison;
  expect(outcome).toBe('rejected');
  expect((error as Error).message).toBe('corosync 3.1.7 died');
});

it('settled(): every value when every side succeeds, the first side\'s error when both fail', async () => {
  expect(await settled<[number, string]>([Promise.resolve(1), Promise.resolve('a')])).toEqual([1, 'a']);
  await expect(settled([Promise.reject(new Error('first')), Promise.reject(new Error('second'))])).rejects.toThrow('first');
});

it('LineDriver: a run while its previous sequence is still running is refused, not mixed with it', async () => {
  // echoes each command; answers `end` only after `go`, so the first sequence stays open
  const script = 'while read l; do case "$l" in end) ;; go) echo go; echo end ;; *) echo "$l" ;; esac; done';
  const d = new LineDriver('driver', () => spawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const first = d.run(['hold']);
  const firstSettled = first.then(
    (lines) => ({ lines }),
    (e: unknown) => ({ error: e as Error }),
  );
  await expect(d.run(['go'])).rejects.toThrow(/driver: run\(\) while its previous sequence is still running/);
  // the refused run wrote nothing: the first one is still open, and the driver still usable once it is done
  await d.close();
  const r = await firstSettled;
  expect('error' in r && r.error.message).toMatch(/^driver died; it printed:\nhold\n/);
});

it('LineDriver: a driver that dies shows everything it printed, what reached its pipes after its exit included', async () => {
  // 'exit' comes when the process is reaped, which can be before its pipes are drained: the
  // error then lost the output's tail, the lines that say why the driver died. Made certain here
  // by a child of the driver that writes once the driver has been reaped (a zombie still answers
  // kill -0).
  const script = 'read l; echo "line 0"; (while kill -0 $$ 2>/dev/null; do :; done; echo "line 1"; echo "last words" >&2) & exit 3';
  const d = new LineDriver('driver', () => spawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const e = (await d.run(['x']).catch((err: unknown) => err)) as Error;
  expect(e.message).toBe('driver died; it printed:\nline 0\nline 1\nlast words\n');
});
