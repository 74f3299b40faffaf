import { IpcError } from './errors.js';
import { native } from './native.js';

let turns: Int32Array | undefined;

/**
 * A number that changes each time this thread's event loop goes round (once per iteration,
 * after the poll phase, before the setImmediate callbacks of that iteration): two reads in one
 * turn are equal. A turn runs from check phase to check phase: code that itself runs in the
 * check phase shares its turn with the rest of that iteration (close callbacks, timers due by
 * its end) and with an immediate it sets before Node's immediates run there (from a native
 * immediate, such as a Worker's 'exit'). A native uv_check handle counts (native loopTurns());
 * a setImmediate per turn did it before, and cost a cpg round trip an Immediate, a JS entry
 * with async_hooks' bookkeeping and an extra loop iteration whose poll could not sleep (README
 * "cpg").
 * @internal
 */
export function loopTurn(): number {
  if (turns === undefined) {
    const ab = native().loopTurns();
    if (typeof ab === 'number') throw IpcError.fromErrno(ab, 'uv_check_init');
    turns = new Int32Array(ab, 0, 1);
  }
  return turns[0]!;
}
