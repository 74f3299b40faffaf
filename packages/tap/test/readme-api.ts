// The README's API example, typechecked by `tsc -p tsconfig.json` (never run: it would move
// the test process into a new network namespace).
import { startTap } from '../src/index.js';

export async function readmeApiExample(): Promise<void> {
  const tap = await startTap({ capture: '/tmp/run.jsonl' }); // this thread is now in the new namespace
  console.log(tap.transport, tap.netnsPath); // 'shm' '/proc/<pid>/fd/<n>' (for nsenter --net=...)
  // ... spawn programs from this thread (child_process), or join tap.netnsPath from elsewhere
  await tap.close(); // back in the original namespace; the capture is closed
}
