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
  const exit = new Promise((r) => child.on('exit', r));
  const line = (n) => (lines.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })));
  return { child, lines, line, exit };
}
