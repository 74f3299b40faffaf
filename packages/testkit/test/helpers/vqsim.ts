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

/**
 * Runs a script of corosync-vqsim commands through the real corosync-vqsim and returns the `show`
 * output after each command. `wait <ms>` is not a vqsim command (vqsim would print its usage):
 * the script just lets that much time pass, as corosync-mock's interpreter does.
 */
export async function runVqsim(conf: string, script: string[]): Promise<Snapshot[]> {
  const dir = mkdtempSync(join(tmpdir(), 'vqsim-'));
  // vqsim refuses -c paths of 8 characters or more (a sizeof(sizeof()) bug), so run in the directory
  writeFileSync(join(dir, 'c.conf'), conf);
  // own process group: vqsim forks one process per node, and they must all go at the end
  const child = spawn('corosync-vqsim', ['-c', 'c.conf'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.resume();
  const waitFor = async (pred: () => boolean, what: string) => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > 20000) throw new Error(`vqsim: timed out waiting for ${what}; output so far:\n${out}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const snaps: Snapshot[] = [];
  try {
    // the initial nodes from corosync.conf come up by themselves
    await waitFor(() => /#autofence/.test(out), 'start');
    await new Promise((r) => setTimeout(r, 300));
    for (const cmd of script) {
      const w = /^wait (\d+)$/.exec(cmd);
      if (w) await new Promise((r) => setTimeout(r, Number(w[1])));
      else child.stdin.write(`${cmd}\n`);
      // give vqsim's nodes time to exchange their nodeinfo; `sync on` only waits for the rings
      await new Promise((r) => setTimeout(r, 400));
      const mark = out.length;
      child.stdin.write('show\n');
      await waitFor(() => out.indexOf('#autofence', mark) >= 0, `show after "${cmd}"`);
      snaps.push(parseShow(out.slice(mark, out.indexOf('#autofence', mark)).split('\n')));
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
