import { createInterface } from 'node:readline';

/**
 * Spawns argv in the namespace with its stdout read line by line: line(n) resolves once n lines
 * have come, so a bench waits for the process's own report of a state rather than for a time.
 */
export function spawnLines(ns, argv) {
  const child = ns.spawn(argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) {
      if (lines.length >= w.n) w.resolve();
      else waiters.push(w);
    }
  });
  // 'close', not 'exit': 'exit' can come while the last lines are still in the pipe (under load
  // it did: a tracker that printed its result "exited 0" with two lines read).
  const exit = new Promise((r) => child.on('close', r));
  const line = (n) => (lines.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })));
  return { child, lines, line, exit };
}
