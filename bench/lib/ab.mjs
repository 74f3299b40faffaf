// What the A/B scripts (bench/client/*-ab.mjs, get-acct.mjs) share: their own load and figures.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';

// Pure CPU at normal priority. It checks now and then (every ~10 ms of work) that its starter is
// still its parent, so that a bench killed outright leaves no spinner behind.
const BUSY = `const parent = Number(process.argv[1]); process.stdout.write('spinning\\n');
for (;;) { for (let i = 0; i < 1e7; i++); if (process.ppid !== parent) process.exit(0); }`;

/**
 * k busy processes at normal priority (report.mjs's loaded regime), once every one of them spins.
 * Until Dec 2026 the A/B scripts forked theirs as `node -e CODE -e`, which exits at once ("-e
 * requires an argument"): their LOAD=k runs before then had no load of their own.
 */
export async function busyLoops(k) {
  const kids = Array.from({ length: k }, () => spawn(process.execPath, ['-e', BUSY, String(process.pid)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  try {
    await Promise.all(
      kids.map(
        (child) =>
          new Promise((resolve, reject) => {
            child.once('error', reject);
            child.once('exit', (code, sig) => reject(new Error(`load process exited early (${code ?? sig})`)));
            createInterface({ input: child.stdout }).once('line', resolve);
          }),
      ),
    );
  } catch (e) {
    for (const c of kids) c.kill('SIGKILL');
    throw e;
  }
  for (const c of kids) c.removeAllListeners('exit');
  return kids;
}

/** The load averages, as printed beside every figure. */
export const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** The middle value (the upper one of an even count). */
export const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
