import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crashTraceEnv, startNamespace, type Namespace } from '@corosync-ts/nstest';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const PKG = fileURLToPath(new URL('../..', import.meta.url));

export interface MockProcess {
  child: ChildProcess;
  /** Sends a scripting command (vqsim style) on the mock's stdin and waits for its answer. */
  command(line: string): Promise<string>;
  stop(): Promise<number | null>;
  /** Its stderr so far: with the crash trace preloaded, where it died if it died of a signal. */
  stderr(): string;
  /** 'running', or how it ended: stopped by stop(), or on its own (a crash, an exit) before that. */
  status(): string;
  /** stderr and status, for a failure message: the mock's own log of what went wrong. */
  log(): string;
}

/** Starts the corosync-mock CLI inside a namespace (as root, like the real daemon) with a config. */
export async function startMockIn(ns: Namespace, conf: string, args: string[] = []): Promise<MockProcess> {
  const confPath = join(ns.dir, 'mock.conf');
  writeFileSync(confPath, conf);
  // nsenter starts in the namespace's /, where tsx would not resolve
  const argv = [process.execPath, '--import', 'tsx', CLI, '--config', confPath, ...args];
  const child = ns.spawn(['sh', '-c', `cd "$0" && exec "$@"`, PKG, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env: await crashTraceEnv() });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  let stopping = false;
  let ended: string | undefined;
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code, signal) => {
      ended = `${stopping ? 'stopped by the test' : 'ended on its own'}: ${signal ? `signal ${signal}` : `exit ${code}`}`;
      r(code);
    }),
  );
  const t0 = Date.now();
  while (!/serving/.test(err)) {
    if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`corosync-mock did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const status = () => ended ?? 'running';
  return {
    child,
    async command(line) {
      const mark = out.length;
      child.stdin!.write(`${line}\n`);
      while (!/(^|\n)(OK|ERR)[^\n]*\n$/.test(out.slice(mark)) && !(line === 'show' && out.length > mark && out.endsWith('\n'))) {
        if (Date.now() - t0 > 600_000) throw new Error('mock command timeout');
        await new Promise((r) => setTimeout(r, 10));
      }
      return out.slice(mark);
    },
    async stop() {
      stopping = true;
      child.kill('SIGTERM');
      return exited;
    },
    stderr: () => err,
    status,
    log: () => `corosync-mock (pid ${child.pid}, ${status()}), its stderr (tail):\n${err.slice(-3000)}`,
  };
}

/** corosync 3.1.7 in one namespace and corosync-mock in another, started from the same corosync.conf. */
export interface RealAndMock {
  real: Namespace;
  mockNs: Namespace;
  mock: MockProcess;
}

/**
 * Starts both sides; `prepare` runs once both namespaces exist and before either daemon starts
 * (mounts, files beside corosync.conf). On failure whatever was started is stopped again, so a
 * broken beforeAll leaves no namespace behind.
 */
export async function startRealAndMock(
  names: { real: string; mock: string },
  conf: string,
  prepare?: (real: Namespace, mockNs: Namespace) => Promise<void>,
): Promise<RealAndMock> {
  const started: Partial<RealAndMock> = {};
  try {
    started.real = await startNamespace({ name: names.real });
    started.mockNs = await startNamespace({ name: names.mock });
    await prepare?.(started.real, started.mockNs);
    await started.real.startCorosync({ conf });
    started.mock = await startMockIn(started.mockNs, conf);
    return started as RealAndMock;
  } catch (e) {
    await stopRealAndMock(started);
    throw e;
  }
}

export async function stopRealAndMock(p: Partial<RealAndMock>): Promise<void> {
  await p.mock?.stop();
  await p.mockNs?.close();
  await p.real?.close();
}

/** A one-node knet corosync.conf over the given IPC transport; `extra` adds whole sections. */
export function oneNodeConf(clusterName: string, transport: string, extra = ''): string {
  return `totem {
  version: 2
  cluster_name: ${clusterName}
  transport: knet
}
nodelist {
  node {
    ring0_addr: 127.0.0.1
    nodeid: 1
  }
}
quorum {
  provider: corosync_votequorum
}
${extra}system {
  qb_ipc_type: ${transport}
}
logging {
  to_stderr: yes
  to_syslog: no
}
`;
}
