import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corosyncConf, type IpcTransport, type NodeSpec, type QuorumOptions } from './conf.js';
import {
  killQuiet,
  nsInode,
  pidsInNetns,
  run,
  sleep,
  GiveUp,
  spawnIn,
  waitFor,
  type ExecOptions,
  type ExecResult,
} from './proc.js';

/** Directories that get a private tmpfs: pid lock, libqb sockets/rings, corosync state, logs. */
const PRIVATE_DIRS = ['/run', '/dev/shm', '/var/lib/corosync', '/var/log/cluster', '/var/log/corosync'];

/*
 * The holder is the process that keeps the namespaces alive. It mounts the tmpfs set, reports its
 * pid, then blocks on stdin. Its stdin is a pipe from this Node process, so when Node dies for any
 * reason (even SIGKILL) the read returns EOF and the holder kills everything left in its network
 * namespace and removes the conf dir ($1): nothing outlives the test run.
 */
const HOLDER_SCRIPT = `
set -e
ip link set lo up
for d in ${PRIVATE_DIRS.join(' ')}; do
  if [ -d "$d" ]; then
    if [ "$d" = /dev/shm ]; then m=1777; else m=0755; fi
    mount -t tmpfs -o mode=$m nstest "$d"
  fi
done
echo "ready $$"
set +e
read _ignored
me=$(readlink /proc/$$/ns/net)
for p in /proc/[0-9]*; do
  q=\${p#/proc/}
  [ "$q" = "$$" ] && continue
  [ "$q" = "$PPID" ] && continue
  [ "$(readlink $p/ns/net 2>/dev/null)" = "$me" ] && kill -9 "$q" 2>/dev/null
done
case "$1" in /*nstest-*) rm -rf -- "$1" ;; esac
exit 0
`;

export interface StartCorosyncOptions {
  /** A complete corosync.conf; when given, everything below except `nodeid`/`timeout`/`wait` is ignored. */
  conf?: string;
  transport?: IpcTransport;
  /** This node's id (must match its nodelist entry). Default 1. */
  nodeid?: number;
  /**
   * The nodelist. A number N means N nodes of which this namespace is node `nodeid`; the others
   * are addresses on a private veth that nobody answers (the "3-node nodelist, one node up"
   * setup). Default: a single node on 127.0.0.1.
   */
  nodes?: number | NodeSpec[];
  quorum?: QuorumOptions;
  totem?: Record<string, string | number>;
  clusterName?: string;
  debug?: boolean;
  /** Raw text appended to the generated conf. */
  extraConf?: string;
  /** Readiness timeout in ms (default 60 000). */
  timeout?: number;
  /**
   * Wait until this node's quorum view holds this many nodes (default 1 = itself). Pass 0 to
   * return as soon as the IPC services answer.
   */
  waitMembers?: number;
}

export interface CorosyncProcess {
  readonly pid: number;
  readonly confPath: string;
  readonly conf: string;
  readonly nodeid: number;
  /** corosync's stderr+stdout so far (the tail, at most 256 KiB). */
  log(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Whether a child has not exited (been reaped) yet, so that its pid is still its own. The pid of a
 * corosync that ended on its own (a cfg shutdown, a crash) is free for anyone: with pid_max 32768 a
 * busy test machine hands it out again within the hour, and kill(pid) would then hit a stranger,
 * another test's daemon or mock. ChildProcess.kill() signals only an unreaped child.
 */
function unreaped(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * An fd on the network namespace `netns` ("net:[inode]") that `pid` is in: while it is open the
 * namespace is not freed, so its inode number is not handed to the next one created. Throws if
 * `pid` is no longer in it.
 */
export function holdNetns(pid: number, netns: string): number {
  const fd = openSync(`/proc/${pid}/ns/net`, 'r');
  if (readlinkSync(`/proc/self/fd/${fd}`) !== netns) {
    closeSync(fd);
    throw new Error(`pid ${pid} is no longer in ${netns}`);
  }
  return fd;
}

const open = new Set<Namespace>();
let exitHookInstalled = false;
let counter = 0;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous by necessity: at 'exit' only sync work runs. The holder's watchdog covers the rest.
  process.on('exit', () => {
    for (const ns of open) ns.closeSync();
  });
}

export class Namespace {
  readonly name: string;
  /** Pid of the holder process; `nsenter -t <pid> -n -m` enters this namespace. */
  readonly pid: number;
  /** A host directory (visible inside too) for confs and helper files; removed by close(). */
  readonly dir: string;
  readonly netns: string;
  private readonly holder: ChildProcess;
  /**
   * An fd on the network namespace, held until close() has seen it empty. "In the namespace" is
   * "in the netns of that inode number", and a freed namespace's number goes to the next one anyone
   * creates (the lowest free): a parallel test's, whose processes close() would then wait for and
   * kill. Held open, the namespace is not freed and keeps its number. -1 once released.
   */
  private netnsFd: number;
  private corosync: (CorosyncProcess & { child: ChildProcess }) | undefined;
  private closing: Promise<void> | undefined;

  /** @internal use startNamespace() */
  constructor(name: string, pid: number, holder: ChildProcess, dir: string, netns: string, netnsFd: number) {
    this.name = name;
    this.pid = pid;
    this.holder = holder;
    this.dir = dir;
    this.netns = netns;
    this.netnsFd = netnsFd;
  }

  private releaseNetns(): void {
    if (this.netnsFd >= 0) closeSync(this.netnsFd);
    this.netnsFd = -1;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** argv prefixed so that it runs inside this namespace. */
  wrap(cmd: string[]): string[] {
    return ['nsenter', '-t', String(this.pid), '-n', '-m', '--', ...cmd];
  }

  exec(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertOpen();
    return run(this.wrap(cmd), opts);
  }

  /** Like exec but rejects (with stderr in the message) on a non-zero exit. */
  async execOk(cmd: string[], opts: ExecOptions = {}): Promise<string> {
    const r = await this.exec(cmd, opts);
    if (r.code !== 0) {
      throw new Error(
        `[${this.name}] ${cmd.join(' ')} exited with ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim()}`,
      );
    }
    return r.stdout;
  }

  /** Starts a process inside the namespace (nsenter execs it, so the child's pid is the command's pid). */
  spawn(cmd: string[], opts: SpawnOptions = {}): ChildProcess {
    this.assertOpen();
    return spawnIn(this.wrap(cmd), opts);
  }

  get corosyncProcess(): CorosyncProcess | undefined {
    return this.corosync;
  }

  async startCorosync(opts: StartCorosyncOptions = {}): Promise<CorosyncProcess> {
    this.assertOpen();
    if (this.corosync && unreaped(this.corosync.child)) throw new Error(`[${this.name}] corosync is already running`);
    const nodeid = opts.nodeid ?? 1;
    let conf = opts.conf;
    if (conf === undefined) {
      const nodes = await this.nodelistFor(opts.nodes, nodeid);
      conf = corosyncConf({
        transport: opts.transport ?? 'socket',
        nodes,
        quorum: opts.quorum,
        totem: opts.totem,
        clusterName: opts.clusterName,
        debug: opts.debug,
        extra: opts.extraConf,
      });
    }
    const confPath = join(this.dir, 'corosync.conf');
    writeFileSync(confPath, conf);

    const child = this.spawn(['corosync', '-f', '-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const append = (d: Buffer) => {
      log += d.toString();
      if (log.length > 256 * 1024) log = log.slice(-256 * 1024);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal }));
      child.on('error', () => resolve({ code: null, signal: null }));
    });
    let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void exited.then((r) => (gone = r));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const proc = {
      pid: child.pid!,
      confPath,
      conf,
      nodeid,
      log: () => log,
      exited,
      child,
    };
    this.corosync = proc;

    const timeout = opts.timeout ?? 60_000;
    const detail = () => `corosync output:\n${log.trim().split('\n').slice(-40).join('\n')}`;
    const waitMembers = opts.waitMembers ?? 1;
    try {
      await waitFor(
        `corosync in ${this.name} to answer cmap`,
        async () => {
          if (gone) {
            throw new GiveUp(`corosync exited early (${gone.code ?? gone.signal})`);
          }
          const r = await this.exec(['corosync-cmapctl', '-g', 'totem.cluster_name'], { timeout: 10_000 });
          return r.code === 0;
        },
        { timeout, detail },
      );
      if (/^\s*provider:\s*corosync_votequorum\s*$/m.test(conf)) {
        // what corosync-quorumtool and votequorum clients read first
        await waitFor(
          `votequorum in ${this.name}`,
          async () => {
            if (gone) throw new GiveUp(`corosync exited early (${gone.code ?? gone.signal})`);
            const r = await this.exec(['corosync-cmapctl', '-g', 'runtime.votequorum.this_node_id'], { timeout: 10_000 });
            return r.code === 0;
          },
          { timeout, detail },
        );
      }
      if (waitMembers > 0) {
        await waitFor(
          `corosync in ${this.name} to see ${waitMembers} member(s)`,
          async () => {
            if (gone) throw new GiveUp(`corosync exited early (${gone.code ?? gone.signal})`);
            const members = await this.members();
            return members.length >= waitMembers;
          },
          { timeout, detail },
        );
      }
    } catch (e) {
      await this.stopCorosync().catch(() => {});
      throw new Error(`[${this.name}] corosync did not become ready: ${(e as Error).message}`);
    }
    return proc;
  }

  /**
   * Node ids of the current totem membership as this node sees it (`runtime.members.<id>.status = joined`).
   */
  async members(): Promise<number[]> {
    const r = await this.exec(['corosync-cmapctl', '-b', 'runtime.members.'], { timeout: 10_000 });
    if (r.code !== 0) throw new Error(`corosync-cmapctl failed: ${r.stderr.trim()}`);
    const ids: number[] = [];
    for (const m of r.stdout.matchAll(/^runtime\.members\.(\d+)\.status \(str\) = (\w+)$/gm)) {
      if (m[2] === 'joined') ids.push(Number(m[1]));
    }
    return ids.sort((a, b) => a - b);
  }

  /** The quorum service's view (after sync), as `corosync-quorumtool -l -p` lists it. */
  async quorumView(): Promise<number[]> {
    const r = await this.exec(['corosync-quorumtool', '-l', '-p'], { timeout: 10_000 });
    if (r.code !== 0) throw new Error(`corosync-quorumtool -l failed: ${(r.stderr || r.stdout).trim()}`);
    const ids: number[] = [];
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*(\d+)\s+\d+\s+/.exec(line);
      if (m) ids.push(Number(m[1]));
    }
    return ids.sort((a, b) => a - b);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when corosync has exited. Idempotent. */
  async stopCorosync(graceMs = 15_000): Promise<void> {
    const c = this.corosync;
    if (!c) return;
    this.corosync = undefined;
    if (!unreaped(c.child)) {
      await c.exited;
      return;
    }
    c.child.kill('SIGTERM');
    const timer = setTimeout(() => c.child.kill('SIGKILL'), graceMs);
    await c.exited;
    clearTimeout(timer);
  }

  /**
   * Adds a veth `<ifname>` with `cidr` whose peer stays in this namespace, down the wire to
   * nowhere. Idempotent: a second call (e.g. restarting corosync with the same nodelist) keeps
   * the link and only adds the address if it is missing.
   */
  async addDeadEndAddress(ifname: string, cidr: string): Promise<void> {
    if ((await this.exec(['ip', 'link', 'show', ifname])).code !== 0) {
      await this.execOk(['ip', 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', `${ifname}p`]);
    }
    const addrs = await this.execOk(['ip', '-o', 'addr', 'show', 'dev', ifname]);
    if (!addrs.includes(` ${cidr} `)) await this.execOk(['ip', 'addr', 'add', cidr, 'dev', ifname]);
    await this.execOk(['ip', 'link', 'set', `${ifname}p`, 'up']);
    await this.execOk(['ip', 'link', 'set', ifname, 'up']);
  }

  private async nodelistFor(nodes: number | NodeSpec[] | undefined, nodeid: number): Promise<NodeSpec[]> {
    if (Array.isArray(nodes)) return nodes;
    const n = nodes ?? 1;
    if (n === 1) return [{ nodeid, addr: '127.0.0.1' }];
    // Other nodes live on a veth whose peer has no address: knet's packets to them go nowhere and
    // stay inside this namespace.
    await this.addDeadEndAddress('nst0', `10.255.0.${nodeid}/24`);
    return Array.from({ length: n }, (_, i) => ({ nodeid: i + 1, addr: `10.255.0.${i + 1}` }));
  }

  private assertOpen(): void {
    if (this.closing) throw new Error(`namespace ${this.name} is closed`);
  }

  /** Kills everything inside (corosync, clients, helpers), then the holder. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    try {
      await this.stopCorosync(5_000);
    } catch {
      // the kill below covers it
    }
    for (let round = 0; round < 100; round++) {
      const pids = pidsInNetns(this.netns).filter((p) => p !== this.pid && p !== this.holder.pid);
      if (pids.length === 0) break;
      for (const p of pids) killQuiet(p, 'SIGKILL');
      await sleep(20);
    }
    const holderExit = new Promise<void>((resolve) => {
      if (this.holder.exitCode !== null || this.holder.signalCode !== null) resolve();
      else this.holder.once('exit', () => resolve());
    });
    // The holder is unref'd so that an open namespace never keeps a process alive; while close()
    // is awaited it must: on a busy machine its kill loop can outlast the 5 s timer below, and
    // with nothing else pending the loop would end (exit 13, unsettled await) before its exit.
    this.holder.ref();
    this.holder.stdin?.end();
    const t = setTimeout(() => {
      killQuiet(this.pid, 'SIGKILL');
      if (this.holder.pid) killQuiet(this.holder.pid, 'SIGKILL');
    }, 5_000);
    await holderExit;
    clearTimeout(t);
    try {
      await waitFor(`namespace ${this.name} to be empty`, () => pidsInNetns(this.netns).length === 0, {
        timeout: 10_000,
      });
    } finally {
      this.releaseNetns();
    }
    rmSync(this.dir, { recursive: true, force: true });
    open.delete(this);
  }

  /** @internal best effort at process exit */
  closeSync(): void {
    if (this.netnsFd >= 0) for (const p of pidsInNetns(this.netns)) killQuiet(p, 'SIGKILL');
    this.releaseNetns();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface NamespaceOptions {
  /** Label used in error messages and the temp dir name. */
  name?: string;
  /** ms to wait for the holder (default 20 000). */
  timeout?: number;
}

export async function startNamespace(opts: NamespaceOptions = {}): Promise<Namespace> {
  installExitHook();
  const name = opts.name ?? `ns${++counter}`;
  const dir = mkdtempSync(join(tmpdir(), `nstest-${name.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  const holder = spawnIn(
    ['unshare', '-m', '-n', '--propagation', 'private', '--fork', '--kill-child', 'sh', '-c', HOLDER_SCRIPT, 'nstest-holder', dir],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  holder.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`holder did not start within ${opts.timeout ?? 20_000} ms`)), opts.timeout ?? 20_000);
      holder.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      holder.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      holder.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`holder exited with ${code ?? signal}: ${err.trim()}`));
      });
    });
    const netns = nsInode(pid, 'net');
    if (!netns || netns === nsInode(process.pid, 'net')) throw new Error('holder is not in a new network namespace');
    if (nsInode(pid, 'mnt') === nsInode(process.pid, 'mnt')) throw new Error('holder is not in a new mount namespace');
    // A forgotten namespace must not keep the test process alive; the exit hook and the holder's
    // stdin watchdog clean it up.
    holder.unref();
    for (const s of [holder.stdin, holder.stdout, holder.stderr]) (s as unknown as { unref?: () => void })?.unref?.();
    const ns = new Namespace(name, pid, holder, dir, netns, holdNetns(pid, netns));
    open.add(ns);
    return ns;
  } catch (e) {
    holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`startNamespace(${name}) failed: ${(e as Error).message}`);
  }
}

/** Namespaces not yet closed (for leak assertions in tests). */
export function openNamespaces(): readonly Namespace[] {
  return [...open];
}
