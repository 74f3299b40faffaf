import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Namespace } from './namespace.js';

/**
 * A line-protocol driver kept running in a namespace: it reads one command per line and prints
 * result lines; a sequence ends with the command `end`, which the driver answers with `end`.
 * Keeping it running spares a process start (Node's is the slow one) per generated sequence.
 */
export class LineDriver {
  readonly #spawn: () => ChildProcess;
  #child: ChildProcess | undefined;
  #lines: string[] = [];
  #stderr = '';
  #waiter: (() => void) | undefined;
  #exited = false;
  #running = false;

  constructor(
    readonly name: string,
    spawn: () => ChildProcess,
  ) {
    this.#spawn = spawn;
  }

  #start(): ChildProcess {
    const child = this.#spawn();
    this.#lines = [];
    this.#stderr = '';
    this.#exited = false;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.#stderr += d;
    });
    createInterface({ input: child.stdout! }).on('line', (l) => {
      this.#lines.push(l);
      if (l === 'end') this.#waiter?.();
    });
    // 'close', not 'exit': 'exit' can come before the pipes are drained, and a driver's last
    // lines and stderr are what say why it died
    child.on('close', () => {
      this.#exited = true;
      this.#waiter?.();
    });
    child.stdin!.on('error', () => {});
    return (this.#child = child);
  }

  /**
   * Runs one sequence; resolves with its output lines (without `end`). A driver that dies or
   * stalls past `ms` (a hung call is a finding too) is killed, restarted for the next sequence,
   * and the sequence rejects with what it printed.
   */
  async run(commands: string[], ms = 60_000): Promise<string[]> {
    // a second sequence would take the first one's lines and 'end' as its own
    if (this.#running) throw new Error(`${this.name}: run() while its previous sequence is still running`);
    this.#running = true;
    try {
      return await this.#run(commands, ms);
    } finally {
      this.#running = false;
    }
  }

  async #run(commands: string[], ms: number): Promise<string[]> {
    const child = this.#child && !this.#exited ? this.#child : this.#start();
    this.#lines = [];
    const done = new Promise<'end' | 'exit' | 'timeout'>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), ms);
      this.#waiter = () => {
        if (this.#exited) resolve('exit');
        else if (this.#lines.at(-1) === 'end') resolve('end');
        else return;
        clearTimeout(t);
      };
    });
    child.stdin!.write(`${[...commands, 'end'].join('\n')}\n`);
    const how = await done;
    this.#waiter = undefined;
    const lines = this.#lines;
    this.#lines = [];
    if (how === 'end') return lines.slice(0, -1);
    if (how === 'timeout') child.kill('SIGKILL');
    this.#child = undefined;
    throw new Error(`${this.name} ${how === 'exit' ? 'died' : `did not finish within ${ms} ms`}; it printed:\n${lines.join('\n')}\n${this.#stderr}`);
  }

  async close(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || this.#exited) return;
    const gone = new Promise((r) => child.once('close', r));
    child.stdin!.end();
    await gone;
  }
}

/**
 * What each side's run (its restart after the run included) gave, once every side has settled; or
 * the first side's error, then too. Rejecting as soon as one side fails (Promise.all) lets the
 * next sequence start while another side is still at this one, or stopping and starting its
 * daemon: that sequence meets a daemon that is not there (every call CS_ERR_LIBRARY), or two
 * restarts overlap.
 */
export async function settled<T extends readonly unknown[]>(runs: { readonly [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(runs as readonly Promise<unknown>[]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Spawns argv in the namespace with the command's directory as cwd (nsenter starts in /). */
export function spawnDriver(ns: Namespace, argv: string[], env?: NodeJS.ProcessEnv): () => ChildProcess {
  return () => ns.spawn(argv, { stdio: ['pipe', 'pipe', 'pipe'], ...(env ? { env } : {}) });
}

/**
 * The two outputs of one sequence side by side, the first difference marked: what a failing
 * property prints next to fast-check's shrunk sequence.
 */
export function describeDifference(commands: string[], a: { name: string; lines: string[] }, b: { name: string; lines: string[] }): string {
  let i = 0;
  while (i < a.lines.length && i < b.lines.length && a.lines[i] === b.lines[i]) i++;
  const from = Math.max(0, i - 6);
  const show = (l: string[]) => l.slice(from, i + 4).map((x, k) => `${from + k === i ? '>' : ' '} ${x}`).join('\n');
  return [
    `${a.name} and ${b.name} differ at output line ${i + 1}.`,
    `sequence (${commands.length} commands):`,
    ...commands.map((c) => `  ${c.length > 200 ? `${c.slice(0, 200)}...` : c}`),
    `${a.name}:`,
    show(a.lines),
    `${b.name}:`,
    show(b.lines),
  ].join('\n');
}
