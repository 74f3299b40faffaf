/// <reference types="node" />
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import {
  CS_ERR_LIBRARY,
  CS_ERR_NO_MEMORY,
  CS_OK,
  CsError,
  SAM_RECOVERY_POLICY_CMAP,
  SAM_RECOVERY_POLICY_QUIT,
  SAM_RECOVERY_POLICY_QUORUM,
  isCsError,
} from '@corosync-ts/types';
import { ByteReader } from './reader.js';
import {
  SAM_CHILD_ENV,
  SAM_CMAP_S_FAILED,
  SAM_CMAP_S_Q_WAIT,
  SAM_CMAP_S_REGISTERED,
  SAM_CMAP_S_STARTED,
  SAM_COMMAND_DATA_STORE,
  SAM_COMMAND_HB,
  SAM_COMMAND_MARK_FAILED,
  SAM_COMMAND_START,
  SAM_COMMAND_STOP,
  SAM_COMMAND_WARN_SIGNAL_SET,
  encodeMarker,
  encodeReply,
  policyBase,
  readInt32,
  readSize,
  type ParentAction,
} from './protocol.js';
import type { SamCmapLink, SamLinkFactory } from './links.js';
import type { SamInternal } from './state.js';

/** What the supervisor did, for logging (libsam's supervisor is silent). */
export type SupervisorEvent =
  | { type: 'spawn'; instanceId: number; pid: number }
  | { type: 'warn'; instanceId: number; pid: number; signal: number }
  | { type: 'kill'; instanceId: number; pid: number }
  | { type: 'exit'; instanceId: number; pid: number; code: number | null; signal: NodeJS.Signals | null; next: 'restart' | 'quit' };

/** How the supervised child is started: the same program again, as Node's cluster module does. */
export interface RelaunchOptions {
  execPath: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  onEvent?: ((event: SupervisorEvent) => void) | undefined;
}

/** The fds the child finds its two channel ends on (stdio slots 3 and 4). */
const CHILD_COMMAND_FD = 3;
const CHILD_REPLY_FD = 4;

const MAX_DATA = 0x7fffffff;

export class Supervisor {
  readonly #s: SamInternal;
  readonly #links: () => Promise<SamLinkFactory>;
  readonly #relaunch: RelaunchOptions;
  readonly #pidPath = `resources.process.${process.pid}.`;
  #termSend = false;
  #quorumPending = false;
  #quorumWakers = new Set<() => void>();

  constructor(s: SamInternal, links: () => Promise<SamLinkFactory>, relaunch: RelaunchOptions) {
    this.#s = s;
    this.#links = links;
    this.#relaunch = relaunch;
    s.quorum?.onEvent(() => {
      this.#quorumPending = true;
      const w = [...this.#quorumWakers];
      this.#quorumWakers.clear();
      for (const f of w) f();
    });
  }

  /**
   * sam_register in the parent: never returns, except with the error libsam's parent would have
   * returned from sam_register (cmap failure, spawn failure).
   */
  async run(): Promise<never> {
    const recpol = this.#s.policy;
    if (recpol & SAM_RECOVERY_POLICY_CMAP) await this.#cmapRegister();

    for (;;) {
      if (recpol & SAM_RECOVERY_POLICY_CMAP) await this.#cmap.setString(this.#pidPath + 'state', SAM_CMAP_S_REGISTERED);

      this.#s.instanceId++;
      this.#termSend = false;

      const child = this.#spawn();
      if (child === undefined) {
        this.#s.instanceId--;
        throw new CsError(CS_ERR_LIBRARY, 'cannot start the supervised child process', { operation: 'sam.register' });
      }
      this.#emit({ type: 'spawn', instanceId: this.#s.instanceId, pid: child.pid! });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
      const commands = child.stdio[CHILD_COMMAND_FD] as Socket;
      const replies = child.stdio[CHILD_REPLY_FD] as Socket;
      // The child's writes to a dead supervisor are its problem; ours to a dead child are ignored.
      replies.on('error', () => {});
      this.#writeInheritedData(replies);

      const reader = new ByteReader(commands);
      let action = await Promise.race([
        this.#handler(child, reader, replies),
        spawnError.then((): ParentAction => 'error'),
      ]);
      commands.destroy();
      replies.destroy();

      if (action === 'error') {
        child.kill('SIGKILL');
        throw new CsError(CS_ERR_LIBRARY, 'supervisor lost its channel to the child', { operation: 'sam.register' });
      }

      const { code, signal } = await exited;
      const oldAction = action;
      if (action === 'recovery' && policyBase(this.#s.policy) === SAM_RECOVERY_POLICY_QUIT) action = 'quit';
      this.#emit({
        type: 'exit',
        instanceId: this.#s.instanceId,
        pid: child.pid!,
        code,
        signal,
        next: action === 'quit' ? 'quit' : 'restart',
      });

      if (action === 'quit') {
        if (recpol & SAM_RECOVERY_POLICY_QUORUM) await this.#s.quorum?.close().catch(() => {});
        if (recpol & SAM_RECOVERY_POLICY_CMAP) {
          if (oldAction === 'recovery') await this.#cmap.setString(this.#pidPath + 'state', SAM_CMAP_S_FAILED).catch(() => {});
          else await this.#cmap.deletePrefix(this.#pidPath).catch(() => {});
          await this.#cmap.close().catch(() => {});
        }
        // WEXITSTATUS of a child killed by a signal is 0: libsam exits 0 then, and so do we.
        process.exit(code ?? 0);
      }
    }
  }

  get #cmap(): SamCmapLink {
    const c = this.#s.cmap;
    if (c === undefined) throw new CsError(CS_ERR_LIBRARY, 'no cmap connection', { operation: 'sam.register' });
    return c;
  }

  async #cmapRegister(): Promise<void> {
    const cmap = await (await this.#links()).openCmap();
    this.#s.cmap = cmap;
    try {
      const recovery = policyBase(this.#s.policy) === SAM_RECOVERY_POLICY_QUIT ? 'quit' : 'restart';
      await cmap.setString(this.#pidPath + 'recovery', recovery);
      await cmap.setUint64(this.#pidPath + 'poll_period', BigInt(this.#s.timeInterval));
    } catch (e) {
      await cmap.deletePrefix(this.#pidPath).catch(() => {});
      await cmap.close().catch(() => {});
      this.#s.cmap = undefined;
      throw e;
    }
  }

  #spawn(): ChildProcess | undefined {
    const { execPath, args, env, cwd } = this.#relaunch;
    const marker = encodeMarker({
      instanceId: this.#s.instanceId,
      commandFd: CHILD_COMMAND_FD,
      replyFd: CHILD_REPLY_FD,
      timeInterval: this.#s.timeInterval,
      policy: this.#s.policy,
      warnSignal: this.#s.warnSignal,
      supervisorPid: process.pid,
    });
    try {
      // node:child_process is loaded on the first spawn, not at import (cold start of every importer).
      const child = process.getBuiltinModule('node:child_process').spawn(execPath, args, {
        cwd,
        env: { ...env, [SAM_CHILD_ENV]: marker },
        stdio: ['inherit', 'inherit', 'inherit', 'pipe', 'pipe'],
      });
      return child.pid === undefined ? (child.on('error', () => {}), undefined) : child;
    } catch {
      return undefined;
    }
  }

  #writeInheritedData(replies: Socket): void {
    const data = this.#s.userData;
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(data?.byteLength ?? 0));
    replies.write(data ? Buffer.concat([head, data]) : head);
  }

  #reply(replies: Socket, err: number): number {
    if (replies.destroyed || !replies.writable) return CS_ERR_LIBRARY;
    replies.write(encodeReply(err, CS_OK));
    return err;
  }

  /** poll(2) on the command pipe (and the quorum fd) with libsam's timeout. */
  async #poll(
    reader: ByteReader,
    timeout: number,
    withQuorum: boolean,
    started: boolean,
  ): Promise<{ cmd: boolean; quorum: boolean; timeout: boolean }> {
    // A broken quorum connection stays readable for poll(2) over shm: while started, libsam sees
    // it on every pass (warn, then kill). While stopped it would spin; this port just waits
    // instead. Over socket libsam never sees it (README: where this differs).
    const quorumReady = () =>
      withQuorum && (this.#quorumPending || (started && this.#s.quorum?.failure !== undefined));
    if (!reader.readable && !quorumReady()) {
      const change = reader.changed();
      let quorumWaker: (() => void) | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        change.promise,
        new Promise<void>((resolve) => {
          quorumWaker = resolve;
          if (withQuorum) this.#quorumWakers.add(resolve);
        }),
        new Promise<void>((resolve) => {
          if (timeout >= 0) timer = setTimeout(resolve, timeout);
        }),
      ]);
      change.cancel();
      if (quorumWaker) this.#quorumWakers.delete(quorumWaker);
      if (timer) clearTimeout(timer);
    }
    const cmd = reader.readable;
    const quorum = quorumReady();
    return { cmd, quorum, timeout: !cmd && !quorum };
  }

  #killChild(child: ChildProcess): ParentAction {
    if (!this.#termSend) {
      this.#emit({ type: 'warn', instanceId: this.#s.instanceId, pid: child.pid!, signal: this.#s.warnSignal });
      this.#signal(child, this.#s.warnSignal);
      this.#termSend = true;
      return 'continue';
    }
    this.#emit({ type: 'kill', instanceId: this.#s.instanceId, pid: child.pid! });
    this.#signal(child, 'SIGKILL');
    return 'recovery';
  }

  #emit(event: SupervisorEvent): void {
    try {
      this.#relaunch.onEvent?.(event);
    } catch {
      // A throwing logger must not take the supervisor down.
    }
  }

  #signal(child: ChildProcess, sig: number | NodeJS.Signals): void {
    try {
      if (child.pid !== undefined) process.kill(child.pid, sig);
    } catch {
      // kill(2) errors are ignored by libsam too (an invalid warn signal, an already reaped child).
    }
  }

  async #handler(child: ChildProcess, reader: ByteReader, replies: Socket): Promise<ParentAction> {
    let status = 0;
    let action: ParentAction = 'continue';
    const recpol = this.#s.policy;
    const cmapOn = (recpol & SAM_RECOVERY_POLICY_CMAP) !== 0;

    while (action === 'continue') {
      const timeout = status === 1 && this.#s.timeInterval !== 0 ? this.#s.timeInterval : -1;
      const ev = await this.#poll(reader, timeout, (recpol & SAM_RECOVERY_POLICY_QUORUM) !== 0, status === 1);

      if (ev.timeout) {
        if (status === 0) action = 'quit';
        else action = this.#killChild(child);
        continue;
      }

      if (ev.cmd) {
        const command = await reader.read(1);
        if (command === null) {
          action = status === 0 ? 'quit' : 'recovery';
          continue;
        }
        if (cmapOn) await this.#cmap.setUint64(this.#pidPath + 'last_updated', process.hrtime.bigint()).catch(() => {});

        switch (command[0]) {
          case SAM_COMMAND_START:
            if (status === 0) {
              if (recpol & SAM_RECOVERY_POLICY_QUORUM) {
                if ((await this.#waitForQuorum(reader, replies, cmapOn)) !== CS_OK) continue;
              } else if (cmapOn) {
                if ((await this.#cmapStateSet(replies, SAM_CMAP_S_STARTED)) !== CS_OK) continue;
              }
              status = 1;
            }
            break;
          case SAM_COMMAND_STOP:
            if (status === 1) {
              if (cmapOn && (await this.#cmapStateSet(replies, SAM_CMAP_S_REGISTERED)) !== CS_OK) continue;
              status = 0;
            }
            break;
          case SAM_COMMAND_DATA_STORE:
            if ((await this.#dataStore(reader, replies)) === 'eof') action = status === 0 ? 'quit' : 'recovery';
            break;
          case SAM_COMMAND_WARN_SIGNAL_SET: {
            const sig = await reader.read(4);
            if (sig === null) {
              this.#reply(replies, CS_ERR_LIBRARY);
              action = status === 0 ? 'quit' : 'recovery';
              break;
            }
            this.#s.warnSignal = readInt32(sig);
            this.#reply(replies, CS_OK);
            break;
          }
          case SAM_COMMAND_MARK_FAILED:
            status = 1;
            this.#termSend = true;
            this.#s.policy = SAM_RECOVERY_POLICY_QUIT | (this.#s.policy & (SAM_RECOVERY_POLICY_CMAP | SAM_RECOVERY_POLICY_QUORUM));
            action = this.#killChild(child);
            break;
          case SAM_COMMAND_HB:
          default:
            // libsam ignores unknown bytes as well; any command at all restarts the poll timeout.
            break;
        }
      }

      if (ev.quorum && action === 'continue' && (this.#s.policy & SAM_RECOVERY_POLICY_QUORUM)) {
        this.#quorumPending = false;
        const q = this.#s.quorum;
        if (status === 1 && q !== undefined && (!q.quorate || q.failure !== undefined)) action = this.#killChild(child);
      }
    }
    return action;
  }

  async #dataStore(reader: ByteReader, replies: Socket): Promise<'ok' | 'eof'> {
    const size = await reader.read(8);
    if (size === null) {
      this.#reply(replies, CS_ERR_LIBRARY);
      return 'eof';
    }
    const n = readSize(size);
    if (n > BigInt(MAX_DATA)) {
      // libsam's malloc() fails the same way; the payload then stays in the pipe, as in libsam.
      this.#reply(replies, CS_ERR_NO_MEMORY);
      return 'ok';
    }
    let data: Uint8Array | null = null;
    if (n > 0n) {
      const bytes = await reader.read(Number(n));
      if (bytes === null) {
        this.#reply(replies, CS_ERR_LIBRARY);
        return 'eof';
      }
      data = new Uint8Array(bytes);
    }
    this.#s.userData = data;
    this.#reply(replies, CS_OK);
    return 'ok';
  }

  async #cmapStateSet(replies: Socket, state: string): Promise<number> {
    try {
      await this.#cmap.setString(this.#pidPath + 'state', state);
    } catch (e) {
      return this.#reply(replies, isCsError(e) ? e.code : CS_ERR_LIBRARY);
    }
    return this.#reply(replies, CS_OK);
  }

  /**
   * sam_parent_wait_for_quorum. libsam answers twice under QUORUM|CMAP (here and again from the
   * cmap state update), leaving the child's replies one message behind; this port answers once,
   * after both the quorum wait and the "running" state, which is what the child actually waits for.
   */
  async #waitForQuorum(reader: ByteReader, replies: Socket, cmapOn: boolean): Promise<number> {
    const fail = async (err: number): Promise<number> => {
      if (cmapOn) await this.#cmap.setString(this.#pidPath + 'state', SAM_CMAP_S_REGISTERED).catch(() => {});
      return this.#reply(replies, err);
    };
    try {
      if (cmapOn) await this.#cmap.setString(this.#pidPath + 'state', SAM_CMAP_S_Q_WAIT);
    } catch (e) {
      return fail(isCsError(e) ? e.code : CS_ERR_LIBRARY);
    }
    const q = this.#s.quorum;
    if (q === undefined) return fail(CS_ERR_LIBRARY);
    this.#quorumPending = false;
    while (!q.quorate) {
      if (q.failure !== undefined) return fail(q.failure.code);
      // libsam polls the child's pipe with events=0 here: only its hang-up (the child died) counts.
      if (reader.ended) return CS_OK;
      const change = reader.changed();
      let waker: (() => void) | undefined;
      await Promise.race([
        change.promise,
        new Promise<void>((resolve) => {
          waker = resolve;
          this.#quorumWakers.add(resolve);
        }),
      ]);
      change.cancel();
      if (waker) this.#quorumWakers.delete(waker);
      this.#quorumPending = false;
    }
    if (cmapOn) {
      try {
        await this.#cmap.setString(this.#pidPath + 'state', SAM_CMAP_S_STARTED);
      } catch (e) {
        return fail(isCsError(e) ? e.code : CS_ERR_LIBRARY);
      }
    }
    return this.#reply(replies, CS_OK);
  }
}
