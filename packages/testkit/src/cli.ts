#!/usr/bin/env node
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SystemClock } from './clock.js';
import { parseCorosyncConf, parseUidgidFile } from './config.js';
import { isConfigError, isMockError } from './errors.js';
import { runCommand } from './commands.js';
import { startMockCorosync } from './server.js';
import { specToConf } from './spec.js';

const USAGE = `usage: corosync-mock [--config corosync.conf | --nodes N] [options]

Serves corosync's cmap, quorum, votequorum, cpg and cfg IPC services (libqb protocol) in the
current network namespace until SIGTERM, like a real corosync, backed by a simulated cluster.

  -c, --config FILE     corosync.conf to run (default /etc/corosync/corosync.conf unless --nodes)
  -n, --nodes N         no config file: a cluster of N nodes with default settings
      --local ID        the node this daemon is (default: the first node of the nodelist)
      --up IDS|all      nodes running at start, e.g. 1,2 (default: only the local node with
                        --config, like one real daemon; all nodes with --nodes)
      --transport T     socket | shm (default: system.qb_ipc_type of the config; shm if unset)
      --prefix P        prepend P to the socket names (default: none, the real names)
      --capture FILE    record every frame of every client to FILE (capture format v1, see
                        @corosync-ts/codec-wasm capture/FORMAT.md; FILE.gz is gzip compressed)
      --allow-any       serve every uid; by default only root (and the mock's own uid) plus the
                        uidgid entries of the config, its uidgid.d directory and uidgid.* keys
  -r, --rr              run SCHED_RR at priority 99 (every thread), as corosync runs itself
                        unless started with -p: on a loaded machine it then preempts every normal
                        process. Needs root or CAP_SYS_NICE; refused, it warns as corosync does
                        and keeps normal scheduling
  -h, --help
  -V, --version         print the package version

Exit status: 0 after SIGTERM or SIGINT (or --help, --version), 1 on a bad option or argument or a
failure to start or stop (e.g. the names are in use), 8 when the config file is invalid (as corosync).

Commands on stdin (one per line), corosync-vqsim style:
  up IDS | down IDS | kill IDS | stop IDS | split P:IDS [P:IDS...] | join P P... | merge
  qdevice on|off IDS | show | wait MS (the next command runs MS later)
`;

/** corosync 3.1.7's exit status when a KILLNODE ends it (measured: 255). */
const KILLED_EXIT = 255;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', short: 'c' },
      nodes: { type: 'string', short: 'n' },
      local: { type: 'string' },
      up: { type: 'string' },
      transport: { type: 'string' },
      prefix: { type: 'string' },
      capture: { type: 'string' },
      'allow-any': { type: 'boolean' },
      rr: { type: 'boolean', short: 'r' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`corosync-mock ${pkg.version}\n`);
    return 0;
  }
  let config: string;
  let configName: string;
  if (values.nodes !== undefined) {
    const n = Number(values.nodes);
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`--nodes wants 1..1024, got ${values.nodes}`);
    config = specToConf({ nodes: n });
    configName = '(generated)';
  } else {
    configName = values.config ?? '/etc/corosync/corosync.conf';
    config = readFileSync(configName, 'utf8') + uidgidDir(join(dirname(configName), 'uidgid.d'));
  }
  const entries = parseCorosyncConf(config, { filename: configName });
  const ipcType = entries.find((e) => e.key === 'system.qb_ipc_type')?.value;
  const transport = values.transport ?? (ipcType === 'socket' ? 'socket' : 'shm');
  if (transport !== 'socket' && transport !== 'shm') throw new Error(`--transport must be socket or shm`);
  const nodeIds = entries.filter((e) => /^nodelist\.node\.\d+\.nodeid$/.test(e.key)).map((e) => Number(e.value));
  const local = values.local !== undefined ? Number(values.local) : nodeIds[0];
  if (local === undefined || !nodeIds.includes(local)) throw new Error(`--local ${values.local}: no such node in the nodelist`);
  const upArg = values.up ?? (values.nodes !== undefined ? 'all' : String(local));
  const up = upArg === 'all' ? nodeIds : upArg.split(',').map(Number);
  if (!up.includes(local)) up.unshift(local);
  for (const id of up) if (!nodeIds.includes(id)) throw new Error(`--up: node ${id} is not in the nodelist`);

  if (values.rr) await roundRobin();

  const mock = await startMockCorosync({
    config, clock: new SystemClock(), prefix: values.prefix ?? '', transport, endpoints: [local],
    start: up,
    // coroparse reads uidgid.d again on reload: its uidgid.config.* keys must not look deleted
    configSource: () => (values.config !== undefined || values.nodes === undefined
      ? readFileSync(configName, 'utf8') + uidgidDir(join(dirname(configName), 'uidgid.d'))
      : config),
    ...(values.capture !== undefined ? { capture: values.capture } : {}),
    ...(values['allow-any'] ? { allow: 'any' as const } : {}),
    // a client the mock dropped sees only CS_ERR_LIBRARY: the log says why
    onError: (e) => process.stderr.write(`corosync-mock: error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`),
  });
  process.stderr.write(`corosync-mock: node ${local} serving ${Object.values(mock.endpoint().names).join(' ')} (${transport})\n`);

  const done = new Promise<number>((resolve) => {
    const stop = () => {
      void mock.close().then(() => resolve(0), () => resolve(1));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // cfg ends the daemon like corosync: shutdown is a clean exit, KILLNODE a fatal error
    mock.cluster.node(local).listeners.add({
      cfgExit: (how) => void mock.close().then(() => resolve(how === 'shutdown' ? 0 : KILLED_EXIT), () => resolve(1)),
    });
  });
  if (!process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin });
    // one command at a time: a `wait` holds back the lines after it
    let pending = Promise.resolve();
    rl.on('line', (line) => {
      pending = pending.then(async () => {
        try {
          const r = runCommand(mock.cluster, line);
          if (r.waitMs) await new Promise((res) => setTimeout(res, r.waitMs));
          if (r.output) process.stdout.write(r.output);
        } catch (e) {
          process.stdout.write(`ERR: ${(e as Error).message}\n`);
        }
      });
    });
  }
  return done;
}

/** corosync_setscheduler: SCHED_RR at the highest priority, or a warning and normal scheduling. */
async function roundRobin(): Promise<void> {
  // loaded here: the addon is needed only with the flag and for serving
  const { setRoundRobinScheduling, isIpcError } = await import('@corosync-ts/ipc');
  try {
    setRoundRobinScheduling();
  } catch (e) {
    if (!isIpcError(e)) throw e;
    process.stderr.write(`corosync-mock: warning: Could not set SCHED_RR at priority 99: ${e.code} (${e.errno})\n`);
  }
}

/** Like corosync: every regular file of uidgid.d holds uidgid sections only; they join the config. */
function uidgidDir(dir: string): string {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return '';
  }
  let out = '';
  for (const name of names) {
    const file = join(dir, name);
    let text: string;
    try {
      if (!statSync(file).isFile()) continue;
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    parseUidgidFile(text, { filename: file });
    out += `\n${text}\n`;
  }
  return out;
}

main().then((code) => process.exit(code), (e: unknown) => {
  const msg = isConfigError(e) || isMockError(e) || e instanceof Error ? e.message : String(e);
  process.stderr.write(`corosync-mock: ${msg}\n`);
  process.exit(isConfigError(e) ? 8 : 1);
});
