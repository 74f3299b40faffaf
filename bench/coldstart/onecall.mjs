// The one-call script of the cold-start goal: what `corosync-cmapctl -g totem.cluster_name` does,
// through @corosync-ts/client, from a fresh process.
import { cmap } from '@corosync-ts/client';

const h = await cmap.initialize();
process.stdout.write(`totem.cluster_name (str) = ${await h.getString('totem.cluster_name')}\n`);
await h.finalize();
