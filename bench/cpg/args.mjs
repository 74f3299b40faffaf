// What ab.mjs and acct.mjs share: their command line and libcpg's side (cbench.c, compiled).
import { readFileSync } from 'node:fs';
import { compileC } from '@corosync-ts/nstest/core';

const USAGE = 'tput|lat SIZE N W ROUNDS A/tsbench.mjs [B/tsbench.mjs ...]';
const count = (s, min) => /^\d+$/.test(s ?? '') && Number(s) >= min;

/**
 * MODE SIZE N W ROUNDS and the tsbench.mjs files (tsbench.mjs's mode, message size of at least
 * 4 bytes, messages measured and warm-up, then rounds); undefined if that is not what `argv` holds.
 * `args` is what every side's bench is given.
 */
export function parseCpgArgs(argv) {
  const [mode, size, n, w, rounds, ...tsbenches] = argv;
  if ((mode !== 'tput' && mode !== 'lat') || !count(size, 4) || !count(n, 1) || !count(w, 0) || !count(rounds, 1) || tsbenches.length === 0) return undefined;
  return { mode, n: Number(n), warmup: Number(w), rounds: Number(rounds), args: [mode, size, n, w], tsbenches };
}

/** This process's arguments (parseCpgArgs); the usage and exit on --help (0) or anything else (2). */
export function cpgArgs(script) {
  const argv = process.argv.slice(2);
  const help = argv[0] === '--help' || argv[0] === '-h';
  const parsed = help ? undefined : parseCpgArgs(argv);
  if (parsed) return parsed;
  (help ? process.stdout : process.stderr).write(`usage: ${script} ${USAGE}\n`);
  process.exit(help ? 0 : 2);
}

/** libcpg's side of the figures: cbench.c, built against the installed libcpg. */
export function compileCbench() {
  return compileC(readFileSync(new URL('./cbench.c', import.meta.url), 'utf8'), ['cpg', '-lpthread'], { cflags: ['-O2'] });
}

/**
 * libcpg's sides from CWAITS (default `poll`): WAIT[:K] each, WAIT poll or epoll (cbench.c
 * CBENCH_WAIT), K with CBENCH_FLIP=K (cbench wakes one of two threads of its own every K round
 * trips); or `one[:B]`, tput on one thread as the client's event loop (CBENCH_THREADS=1, B with
 * CBENCH_BATCH=B: at most B sends between two looks at the fd). [name, environment assignments]
 * each.
 */
export function cbenchSides() {
  return (process.env.CWAITS ?? 'poll').split(',').map((spec) => {
    const m = /^(poll|epoll|one)(?::(\d+))?$/.exec(spec);
    if (!m) throw new Error(`CWAITS: ${spec} is not poll|epoll[:K] or one[:B]`);
    const [, wait, k] = m;
    if (wait === 'one') return [['libcpg one thread', k ? `batch ${k}` : ''].filter(Boolean).join(' '), ['CBENCH_THREADS=1', `CBENCH_BATCH=${k ?? 0}`]];
    const name = ['libcpg', wait === 'poll' ? '' : wait, k ? `flip ${k}` : ''].filter(Boolean).join(' ');
    return [name, [`CBENCH_WAIT=${wait}`, `CBENCH_FLIP=${k ?? 0}`]];
  });
}
