// The capture files the `capture` option and COROSYNC_TS_CAPTURE name, one writer per path: handles
// naming the same path share it, so their connections get distinct ids in one file. A file of its
// own, loaded by ./capture.ts when a path is first given: the writer (its ring, its thread's
// source, the addon lookup) is no part of the package's import (package.json "bundle": { "separate" }).
import { readFileSync } from 'node:fs';
import { CaptureWriter } from '@corosync-ts/ipc';

const writers = new Map<string, CaptureWriter>();
let version: string | undefined;

function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}

/** The open writer of `path` (%p: the process id), opened (created or truncated) on first use. */
export function sharedWriter(path: string): CaptureWriter {
  const resolved = path.replace(/%p/g, String(process.pid));
  let w = writers.get(resolved);
  if (!w || w.closed) {
    w = CaptureWriter.open(resolved, { mode: 'client', name: '@corosync-ts/client', version: packageVersion() });
    writers.set(resolved, w);
  }
  return w;
}
