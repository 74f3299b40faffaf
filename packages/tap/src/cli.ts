#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { constants as osc } from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_SERVICES, startTap, type Tap } from './tap.js';
import { VERSION } from './version.js';

const USAGE = `usage: corosync-tap -o FILE [options] -- PROGRAM [ARGS...]
       corosync-tap -o FILE --netns NAME [options] [-- PROGRAM [ARGS...]]

Records the corosync IPC traffic of an unmodified program against the real corosync into a
capture file (corosync-ts capture format v1, JSON Lines). PROGRAM runs in a private network
namespace where the tap serves corosync's services itself and relays every request, response
and event to and from the corosync of the tap's own namespace. Needs root (CAP_SYS_ADMIN).

  -o, --output FILE     capture file; FILE.gz is written gzip compressed. A symbolic link
                        or anything but a regular file is refused. Mode 0600.
      --transport T     socket | shm: the libqb transport the program is served
                        (default: the one corosync offers)
      --services LIST   service names to serve (default: ${DEFAULT_SERVICES.join(',')})
      --netns NAME      serve the named network namespace (/run/netns/NAME, as made by
                        "ip netns add", or any nsfs path) instead of a new one; without
                        PROGRAM, serve until SIGINT or SIGTERM
      --user U[:G]      run PROGRAM as this user and group (names or numbers; default: the
                        tap's own uid and gid)
      --handshake-timeout MS
                        how long corosync may take to answer a connection (default 10000)
  -q, --quiet           no diagnostics on stderr
  -h, --help            this text
  -V, --version         the version

corosync sees the tap's credentials, not the program's; the tap applies corosync's own rule
(uid 0, gid 0 or a uidgid.* key) to the program's and refuses it with EACCES as corosync would.

Exit status: PROGRAM's (128+N if it died of signal N); 125 the tap failed (no corosync, no
permission, capture path refused...); 126 PROGRAM could not be executed; 127 not found; 2 usage.
`;

const EXIT_USAGE = 2;
const EXIT_TAP = 125;

function resolveId(spec: string, kind: 'user' | 'group'): number {
  if (/^\d+$/.test(spec)) return Number(spec);
  try {
    const out = kind === 'user' ? execFileSync('id', ['-u', '--', spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) : execFileSync('getent', ['group', spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[2]!;
    const n = Number(out.trim());
    if (Number.isInteger(n)) return n;
  } catch {}
  throw new Error(`unknown ${kind} ${spec}`);
}

function resolveUser(spec: string): { uid: number; gid: number } {
  const [u, g] = spec.split(':', 2) as [string, string | undefined];
  const uid = resolveId(u, 'user');
  const gid = g !== undefined && g !== '' ? resolveId(g, 'group') : /^\d+$/.test(u) ? uid : Number(execFileSync('id', ['-g', '--', u], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  return { uid, gid };
}

async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  let values;
  try {
    ({ values } = parseArgs({
      args: own,
      options: {
        output: { type: 'string', short: 'o' },
        transport: { type: 'string' },
        services: { type: 'string' },
        netns: { type: 'string' },
        user: { type: 'string' },
        'handshake-timeout': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`corosync-tap: ${(e as Error).message}\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`corosync-tap ${VERSION}\n`);
    return 0;
  }
  const usage = (msg: string) => {
    process.stderr.write(`corosync-tap: ${msg}\n${USAGE}`);
    return EXIT_USAGE;
  };
  if (!values.output) return usage('-o FILE is required');
  if (command.length === 0 && !values.netns) return usage('a PROGRAM after -- is required (or --netns NAME)');
  if (values.transport !== undefined && values.transport !== 'socket' && values.transport !== 'shm') return usage(`--transport must be socket or shm, not ${values.transport}`);
  const timeout = values['handshake-timeout'] === undefined ? 10_000 : Number(values['handshake-timeout']);
  if (!Number.isInteger(timeout) || timeout <= 0) return usage('--handshake-timeout needs a positive number of ms');
  const services = values.services?.split(',').filter((s) => s !== '');
  if (services && services.length === 0) return usage('--services needs at least one name');
  let user: { uid: number; gid: number } | undefined;
  if (values.user !== undefined) {
    try {
      user = resolveUser(values.user);
    } catch (e) {
      return usage((e as Error).message);
    }
  }
  const log = values.quiet ? undefined : (line: string) => process.stderr.write(`corosync-tap: ${line}\n`);
  const netns = values.netns === undefined || values.netns.includes('/') ? values.netns : `/run/netns/${values.netns}`;

  let tap: Tap;
  try {
    tap = await startTap({
      capture: values.output,
      ...(services ? { services } : {}),
      ...(values.transport ? { transport: values.transport as 'socket' | 'shm' } : {}),
      ...(netns ? { netns } : {}),
      handshakeTimeout: timeout,
      ...(log ? { log } : {}),
    });
  } catch (e) {
    process.stderr.write(`corosync-tap: ${(e as Error).message}\n`);
    return EXIT_TAP;
  }

  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  if (command.length === 0) {
    // Serve a named namespace until told to stop.
    await new Promise<void>((resolve) => {
      for (const s of signals) process.once(s, () => resolve());
    });
    await tap.close();
    return 0;
  }

  // Spawned from this thread, which is in the program's namespace now: the child is too.
  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', ...(user ?? {}) });
  const forward = (s: NodeJS.Signals) => child.kill(s);
  for (const s of signals) process.on(s, forward);
  const status = await new Promise<number>((resolve) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      process.stderr.write(`corosync-tap: cannot run ${command[0]}: ${e.message}\n`);
      resolve(e.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (osc.signals[signal] ?? 0) : 0)));
  });
  for (const s of signals) process.off(s, forward);
  await tap.close();
  return status;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`corosync-tap: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = EXIT_TAP;
  },
);
