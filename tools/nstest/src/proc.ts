import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, readdirSync, readlinkSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The child's pid (for a namespace's exec, nsenter's, which execs the command). */
  pid: number;
  /** It ran past `timeout` and was SIGKILLed. */
  timedOut: boolean;
}

export interface ExecOptions {
  input?: string | Uint8Array;
  /** ms; the process is SIGKILLed when it runs longer. Default 30 000. */
  timeout?: number;
  /** Added to this process's environment; a variable set to undefined is removed. */
  env?: Record<string, string | undefined>;
  /** The child gets `env` alone instead of this process's environment with `env` on top. */
  replaceEnv?: boolean;
  cwd?: string;
}

/**
 * Runs argv to completion, never rejecting on a non-zero exit (callers look at `code`).
 * Asynchronous on purpose: in a test, a spawnSync of anything slow blocks the vitest worker's
 * event loop, and past vitest's 60 s RPC timeout the whole run fails ("Timeout calling onTaskUpdate").
 */
export function run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new TypeError('run: empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.replaceEnv ? { ...opts.env } : { ...process.env, ...opts.env },
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeout ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, pid: child.pid!, timedOut, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    // EPIPE when the child exits without reading its input is not an error of ours.
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

/** run(), resolving with stdout on exit 0; otherwise rejects with the exit code or signal and stderr. */
export async function runOk(argv: string[], opts: ExecOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    const how = r.timedOut ? `was killed after ${opts.timeout ?? 30_000} ms` : `exited with ${r.code ?? r.signal}`;
    throw new Error(`${argv.join(' ')} ${how}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

export function spawnIn(argv: string[], opts: SpawnOptions = {}): ChildProcess {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError('spawn: empty argv');
  return spawn(file, args, opts);
}

export function nsInode(pid: number, kind: 'net' | 'mnt'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** Every pid whose network namespace is `netInode`: that is what "inside the namespace" means here. */
export function pidsInNetns(netInode: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    if (nsInode(pid, 'net') === netInode) pids.push(pid);
  }
  return pids;
}

export function killQuiet(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Thrown from a waitFor check to stop waiting at once (e.g. the process being waited on died). */
export class GiveUp extends Error {
  override name = 'GiveUp';
}

/** Polls `check` until it returns a value other than undefined/false, or throws the last reason. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeout?: number; interval?: number; detail?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeout ?? 30_000);
  let interval = opts.interval ?? 50;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (e instanceof GiveUp) {
        const extra = opts.detail ? `\n${opts.detail()}` : '';
        throw new Error(`gave up waiting for ${what}: ${e.message}${extra}`);
      }
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const extra = opts.detail ? `\n${opts.detail()}` : '';
      const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${opts.timeout ?? 30_000} ms waiting for ${what}${last}${extra}`);
    }
    await sleep(interval);
    interval = Math.min(interval * 1.5, 500);
  }
}

/** True when the named program is an executable file in a PATH directory (no child process: this runs while a test file is collected). */
export function haveProgram(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return statSync(join(dir, program)).isFile();
    } catch {
      return false;
    }
  });
}
