// Runs commands in one private namespace with corosync 3.1.7 (for profiling a bench side):
//   node bench/cpg/nsrun.mjs socket|shm 'cmd 1' ['cmd 2' ...]   (each a shell command line)
// Prints each command's stdout and stderr. The namespace and its corosync go when it ends.
import { startNamespace } from '@corosync-ts/nstest/core';

const [transport, ...cmds] = process.argv.slice(2);
const ns = await startNamespace({ name: `bench-cpg-nsrun-${transport}` });
try {
  const proc = await ns.startCorosync({ transport });
  process.env.COROSYNC_PID = String(proc.pid ?? '');
  for (const c of cmds) {
    const r = await ns.exec(['sh', '-c', c.replaceAll('$COROSYNC_PID', String(proc.pid ?? ''))], { timeout: 600_000 });
    process.stdout.write(`$ ${c} (exit ${r.code ?? r.signal})\n${r.stdout}${r.stderr}`);
  }
} finally {
  await ns.close();
}
