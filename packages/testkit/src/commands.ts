import type { Cluster } from './cluster.js';
import { MockError } from './errors.js';

/** `[<partition>:]<nodeid>[,<nodeid>...]` groups, as corosync-vqsim's up/move/qdevice take them. */
function groups(args: readonly string[]): { part: number; ids: number[] }[] {
  return args.filter(Boolean).map((g) => {
    const colon = g.indexOf(':');
    const ids = (colon >= 0 ? g.slice(colon + 1) : g).split(',').filter(Boolean).map(Number);
    return { part: colon >= 0 ? Number(g.slice(0, colon)) : 0, ids };
  });
}

const allIds = (args: readonly string[]) => groups(args).flatMap((g) => g.ids);

export interface CommandOptions {
  /** How `qdevice on` runs the device (default: like corosync-qdevice; vqsim's own is `{ vqsimCompat: true, name: 'VQsim_qdevice' }`). */
  qdevice?: { name?: string; vqsimCompat?: boolean };
}

/** What a command asks of its caller: text to print, and time to let pass before the next one. */
export interface CommandResult {
  output: string;
  /** `wait MS`: corosync-vqsim has no such command, its nodes simply run on while nothing is typed. */
  waitMs?: number;
}

/**
 * One line of corosync-vqsim's command language (up, down, move/split, join, qdevice, show) plus
 * the mock's own kill, stop, merge and wait, applied to a simulated cluster. Empty lines and
 * `#` comments do nothing. Throws a MockError for an unknown command.
 */
export function runCommand(cluster: Cluster, line: string, opts: CommandOptions = {}): CommandResult {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { output: '' };
  const [verb, ...args] = trimmed.split(/\s+/);
  switch (verb) {
    case 'show':
      return { output: show(cluster) };
    case 'up':
      for (const g of groups(args)) for (const id of g.ids) cluster.node(id).start({ partition: g.part });
      break;
    case 'down':
    case 'kill':
      for (const id of allIds(args)) cluster.node(id).kill();
      break;
    case 'stop':
      for (const id of allIds(args)) cluster.node(id).stop();
      break;
    case 'split':
    case 'move':
      for (const g of groups(args)) cluster.move(g.part, g.ids);
      break;
    case 'join':
      cluster.join(Number(args[0]), ...args.slice(1).map(Number));
      break;
    case 'merge':
      cluster.merge();
      break;
    case 'qdevice':
      for (const id of allIds(args.slice(1))) {
        if (args[0] === 'on') cluster.node(id).qdeviceOn(opts.qdevice);
        else cluster.node(id).qdeviceOff();
      }
      break;
    case 'wait': {
      const ms = Number(args[0]);
      if (!Number.isFinite(ms) || ms < 0) throw new MockError('EINVAL', `wait wants milliseconds, got ${args[0]}`);
      return { output: `OK ${trimmed}\n`, waitMs: ms };
    }
    default:
      throw new MockError('EINVAL', `unknown command ${verb}`);
  }
  return { output: `OK ${trimmed}\n` };
}

/** corosync-vqsim's `show`: one line per running node. */
function show(cluster: Cluster): string {
  return cluster.nodes.filter((n) => n.running).map((n) =>
    `${n.partition}:${n.id}: q=${n.quorate ? 1 : 0} ring=[${n.quorumRing.nodeid}.${n.quorumRing.seq.toString(16)}] nodes=[${n.viewList.join(' ')}]\n`,
  ).join('');
}
