// vitest globalSetup (the main vitest process): says which test file's fork ended that vitest did
// not end, and how. A fork that dies mid-file, of a signal or an exit, whatever the cause, shows
// in vitest 3.2 / tinypool 1.1 only as "Unhandled Rejection: Channel closed" (tinypool's teardown
// message to the dead fork), with neither the file nor the signal, and the run ends there.
import cp, { type ChildProcess } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

/** The test files a task message from tinypool to a fork names, if it is one. */
function taskFiles(message: unknown): string | undefined {
  const files = (message as { task?: { files?: ({ filepath?: string } | string)[] } } | null)?.task?.files;
  return files?.map((f) => (typeof f === 'string' ? f : f.filepath)).join(', ');
}

export default function setup(): () => void {
  const fork = cp.fork;
  cp.fork = function (this: unknown, ...args: Parameters<typeof fork>): ChildProcess {
    const child = fork.apply(this, args);
    let files: string | undefined;
    let ended = false;
    const send = child.send;
    child.send = function (this: ChildProcess, message: unknown, ...rest: unknown[]): boolean {
      files ??= taskFiles(message);
      return (send as (...a: unknown[]) => boolean).call(this, message, ...rest);
    } as typeof child.send;
    const kill = child.kill;
    child.kill = function (this: ChildProcess, signal?: NodeJS.Signals | number): boolean {
      ended = true;
      return kill.call(this, signal);
    };
    child.on('exit', (code, signal) => {
      if (ended) return;
      const how = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
      process.stderr.write(`\nforkwatch: the vitest fork ${child.pid} running ${files ?? '(no test file yet)'} ended by itself: ${how}\n`);
    });
    return child;
  } as typeof fork;
  // tinypool imported `fork` by name: the ESM binding follows the CommonJS export only after this.
  syncBuiltinESMExports();
  return () => {
    cp.fork = fork;
    syncBuiltinESMExports();
  };
}
