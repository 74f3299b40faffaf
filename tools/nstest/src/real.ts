import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveProgram, run } from './proc.js';

const REQUIRED = ['corosync', 'corosync-cmapctl', 'corosync-quorumtool', 'unshare', 'nsenter', 'ip'];

let cached: { available: true } | { available: false; reason: string } | undefined;

/** Whether real corosync daemons can run here (tools present, root, namespaces allowed). Cached. */
export function realCorosync(): { available: true } | { available: false; reason: string } {
  if (cached) return cached;
  cached = probe();
  return cached;
}

function probe(): { available: true } | { available: false; reason: string } {
  if (process.platform !== 'linux') return { available: false, reason: `needs Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { available: false, reason: 'needs root (network + mount namespaces)' };
  const missing = REQUIRED.filter((c) => !haveProgram(c));
  if (missing.length > 0) return { available: false, reason: `missing ${missing.join(', ')} (apt install corosync util-linux iproute2)` };
  const r = spawnSync('unshare', ['-m', '-n', '--propagation', 'private', 'true'], { encoding: 'utf8' });
  if (r.status !== 0) return { available: false, reason: `unshare -m -n fails here: ${(r.stderr ?? '').trim() || r.status}` };
  const v = spawnSync('corosync', ['-v'], { encoding: 'utf8' });
  if (!/version '3\./.test(v.stdout ?? '')) return { available: false, reason: `corosync 3.x expected, got: ${(v.stdout ?? '').split('\n')[0]}` };
  return { available: true };
}

export function ccCacheDir(): string {
  return process.env.COROSYNC_TS_NSTEST_CACHE ?? join(tmpdir(), 'corosync-ts-nstest-cc');
}

/**
 * Builds a C helper with gcc (cached by a hash of source, libs, flags and local headers) and returns
 * its path. `libs` are library names (`'cmap'` → `-lcmap`) or raw flags (`'-lqb'`, `'-pthread'`).
 * `includeDir` is where the source's `#include "x.h"` are: gcc compiles a copy of the source in the
 * cache, so it gets `-iquote includeDir`, and the headers found there are part of the key (an
 * edited header builds a new binary).
 */
export async function compileC(source: string, libs: string[] = [], opts: { cflags?: string[]; includeDir?: string } = {}): Promise<string> {
  const flags = ['-O1', '-g', '-Wall', '-Wno-unused-result', ...(opts.includeDir !== undefined ? ['-iquote', opts.includeDir] : []), ...(opts.cflags ?? [])];
  const libFlags = libs.map((l) => (l.startsWith('-') ? l : `-l${l}`));
  const headers = opts.includeDir !== undefined ? [...localHeaders(source, opts.includeDir)] : [];
  const key = createHash('sha256')
    .update(JSON.stringify([source, flags, libFlags, headers]))
    .digest('hex')
    .slice(0, 24);
  const dir = ccCacheDir();
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, key);
  if (existsSync(bin)) return bin;
  const src = join(dir, `${key}.c`);
  writeFileSync(src, source);
  const tmp = `${bin}.${process.pid}.tmp`;
  const r = await run(['gcc', ...flags, '-o', tmp, src, ...libFlags], { timeout: 120_000 });
  if (r.code !== 0) throw new Error(`gcc failed for ${src}:\n${r.stderr}`);
  // rename is atomic, so parallel workers compiling the same helper never see half a binary
  renameSync(tmp, bin);
  return bin;
}

/** The `#include "..."` files of `text` that are in `dir`, and theirs, each once: name → content. */
function localHeaders(text: string, dir: string, found = new Map<string, string>()): Map<string, string> {
  for (const [, name] of text.matchAll(/^[ \t]*#[ \t]*include[ \t]*"([^"]+)"/gm)) {
    if (found.has(name!)) continue;
    const path = join(dir, name!);
    // not there: gcc looks in the system directories next, which no key covers either
    if (!existsSync(path)) continue;
    const content = readFileSync(path, 'utf8');
    found.set(name!, content);
    localHeaders(content, dir, found);
  }
  return found;
}
