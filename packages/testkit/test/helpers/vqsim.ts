import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../src/commands.js';
import { createCluster, ManualClock } from '../../src/index.js';

/** One node line of a `show`: partition, node id, quorate, members. */
export interface Row { part: number; id: number; quorate: boolean; nodes: number[] }
export type Snapshot = Row[];

const ROW = /^(\d+):(\d+): q=(\d+|UNINITIALIZED)(?: ring=\[[0-9a-f.]+\] nodes=\[([\d ]*)\])?$/;

function parseShow(lines: string[]): Snapshot {
  const rows: Row[] = [];
  for (const l of lines) {
    const m = ROW.exec(l.trim());
    if (!m) continue;
    rows.push({
      part: Number(m[1]), id: Number(m[2]), quorate: m[3] === '1',
      // vqsim lists members in its own partition order; corosync's view is a set
      nodes: m[4] ? m[4].trim().split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b) : [],
    });
  }
  return rows.sort((a, b) => a.id - b.id);
}

/** How long a `show` must keep matching before it counts: vqsim's nodes settle their nodeinfo within that. */
const HOLD_MS = 250;
/** How long vqsim gets to reach a state before its last `show` is returned as it is (and the test fails). */
const SETTLE_MS = 10_000;

const sameSnapshot = (a: Snapshot, b: Snapshot) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Runs a script of corosync-vqsim commands through the real corosync-vqsim and returns its `show`
 * after each command. `wait <ms>` is not a vqsim command (vqsim would print its usage): the script
 * just lets that much time pass, as corosync-mock's interpreter does.
 *
 * vqsim applies a command asynchronously (its node processes exchange nodeinfo after the rings
 * settle, and `sync on` only waits for the rings), so after each command `show` is polled until it
 * equals `expected` (the simulator's answer for that step) and keeps equal for HOLD_MS, or until
 * SETTLE_MS has passed: a state that vqsim never reaches is returned as vqsim shows it last.
 */
export async function runVqsim(conf: string, script: string[], expected: Snapshot[]): Promise<Snapshot[]> {
  const dir = mkdtempSync(join(tmpdir(), 'vqsim-'));
  // vqsim refuses -c paths of 8 characters or more (a sizeof(sizeof()) bug), so run in the directory
  writeFileSync(join(dir, 'c.conf'), conf);
  // own process group: vqsim forks one process per node, and they must all go at the end
  const child = spawn('corosync-vqsim', ['-c', 'c.conf'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  let out = '';
  let changed = () => {};
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    changed();
  });
  child.stderr.resume();
  const outputChange = () => new Promise<void>((r) => (changed = r));
  const waitFor = async (pred: () => boolean, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`vqsim: timed out waiting for ${what}; output so far:\n${out}`);
      await Promise.race([outputChange(), exited.then(() => { throw new Error(`vqsim exited waiting for ${what}; output:\n${out}`); })]);
    }
  };
  const show = async (what: string): Promise<Snapshot> => {
    const mark = out.length;
    child.stdin.write('show\n');
    await waitFor(() => out.indexOf('#autofence', mark) >= 0, `show after "${what}"`);
    return parseShow(out.slice(mark, out.indexOf('#autofence', mark)).split('\n'));
  };
  /** Polls `show` until `ok` holds for HOLD_MS (or SETTLE_MS passed); returns the last one. */
  const settle = async (what: string, ok: (s: Snapshot) => boolean): Promise<Snapshot> => {
    const deadline = Date.now() + SETTLE_MS;
    let since: number | undefined;
    for (;;) {
      const s = await show(what);
      const now = Date.now();
      since = ok(s) ? (since ?? now) : undefined;
      if ((since !== undefined && now - since >= HOLD_MS) || now > deadline) return s;
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const snaps: Snapshot[] = [];
  try {
    await waitFor(() => /#autofence/.test(out), 'start');
    // the nodes of corosync.conf come up by themselves, into one partition
    const ids = [...conf.matchAll(/nodeid:\s*(\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
    await settle('start', (s) => s.length === ids.length && s.every((r) => JSON.stringify(r.nodes) === JSON.stringify(ids)));
    for (const [i, cmd] of script.entries()) {
      const w = /^wait (\d+)$/.exec(cmd);
      if (w) await new Promise((r) => setTimeout(r, Number(w[1])));
      else child.stdin.write(`${cmd}\n`);
      snaps.push(await settle(cmd, (s) => sameSnapshot(s, expected[i]!)));
    }
    child.stdin.write('exit\n');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  }
  return snaps;
}

/**
 * The same script through our simulator and the mock's command interpreter (corosync-mock's stdin
 * language), `wait` advancing the manual clock, each snapshot read back from its `show`.
 */
export function runSimulator(conf: string, script: string[]): Snapshot[] {
  const clock = new ManualClock();
  const c = createCluster({ config: conf, clock });
  const snaps: Snapshot[] = [];
  for (const cmd of script) {
    const { waitMs } = runCommand(c, cmd, { qdevice: { name: 'VQsim_qdevice', vqsimCompat: true } });
    if (waitMs !== undefined) clock.advance(waitMs);
    snaps.push(parseShow(runCommand(c, 'show').output.split('\n')));
  }
  return snaps;
}
