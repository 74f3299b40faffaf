import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How a watched process ended: its exit code, or the signal that killed it. */
export type Ended = { code: number | null; signal: NodeJS.Signals | null };

/**
 * The stdout lines of a process, as they come, and a wait for one: the state a test waits for,
 * never a fixed time. `waitLine` rejects with everything the process printed (stdout and
 * stderr) when it ends without printing the line, or after `ms`: a probe that crashed or hung
 * says so at once, with its output. `exited` settles once its pipes are drained too, so `lines`
 * is then complete.
 */
export function watchLines(child: ChildProcess, ms = 60_000) {
  const lines: string[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const waiters = new Set<{ re: RegExp; resolve: (line: string) => void }>();
  let ended: Ended | undefined;
  // 'close', not 'exit': at 'exit' its last lines may still be in the pipe
  const exited = new Promise<Ended>((r) =>
    child.once('close', (code, signal) => {
      ended = { code, signal };
      r(ended);
    }),
  );
  const output = () => `${lines.join('\n')}\n${stderr}`;
  const why = () => (ended!.signal ? `killed by ${ended!.signal}` : `exited with ${ended!.code}`);
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters) if (w.re.test(l)) w.resolve(l);
  });
  const waitLine = (re: RegExp): Promise<string> => {
    const found = lines.find((l) => re.test(l));
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<string>((resolve, reject) => {
      const w = {
        re,
        resolve: (line: string) => {
          done();
          resolve(line);
        },
      };
      const t = setTimeout(() => {
        done();
        reject(new Error(`no line ${re} within ${ms / 1000} s; so far:\n${output()}`));
      }, ms);
      const done = () => {
        clearTimeout(t);
        waiters.delete(w);
      };
      waiters.add(w);
      void exited.then(() => {
        if (!waiters.has(w)) return;
        done();
        reject(new Error(`process ${why()} before printing ${re}; it printed:\n${output()}`));
      });
    });
  };
  return { lines, exited, output, waitLine };
}
