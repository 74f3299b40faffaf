#!/usr/bin/env node
// The main job on the embedded mock: a simulated 3-node corosync cluster, a client "on" every
// node (quorum V1 tracking + votequorum getinfo, auto-reconnect), and quorum changing live as
// nodes fail and come back. `--fast` drops the pauses (used by the test).
import { startMockCorosync } from '@corosync-ts/testkit';
import { quorum, votequorum, QUORUM_MODEL_V1, CS_TRACK_CHANGES } from '@corosync-ts/client';

const fast = process.argv.includes('--fast');
const pause = (ms) => new Promise((r) => setTimeout(r, fast ? 0 : ms));
const t0 = performance.now();
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const log = (s) => console.log(`${paint(2, `[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s]`)} ${s}`);

const NODES = [1, 2, 3];
const mock = await startMockCorosync({ nodes: NODES.length, endpoints: 'all' });
const { cluster } = mock;

console.log(paint(1, 'corosync-ts demo: a 3-node cluster simulated by @corosync-ts/testkit, watched by @corosync-ts/client on every node'));

const watchers = [];
// What each node's client last printed, and whether it is connected: a step ends once every
// running node's client shows that node's state (a reconnect's backoff and re-tracking take
// however long the machine makes them take).
const shown = new Map();
const connected = new Set();
let changed = () => {};
const viewKey = (quorate, members) => `${quorate} ${[...members].sort((a, b) => a - b).join(',')}`;
for (const id of NODES) {
  const opts = { ipcPrefix: mock.endpoint(id).prefix, reconnect: { initialDelay: 20, maxDelay: 200 } };
  const vq = await votequorum.initialize({}, opts);
  const report = async (quorate, members) => {
    let detail = '';
    try {
      const info = await vq.getinfo(0);
      detail = `votes ${info.totalVotes}/${info.highestExpected}, quorum ${info.quorum}`;
    } catch {
      detail = 'votequorum not reachable yet';
    }
    const state = quorate ? paint(32, 'quorate    ') : paint(31, 'NOT quorate');
    log(`node ${id}: ${state}  members [${members.join(',')}]  ${detail}`);
    shown.set(id, viewKey(quorate, members));
    changed();
  };
  const q = await quorum.modelInitialize(
    QUORUM_MODEL_V1,
    { quorumNotify: ({ quorate, viewList }) => void report(quorate, viewList) },
    undefined,
    opts,
  );
  q.on('disconnect', (e) => {
    connected.delete(id);
    // what it showed before is no report of the state it comes back to
    shown.delete(id);
    log(`node ${id}: ${paint(33, `corosync gone (${e.csName}), the client keeps reconnecting`)}`);
  });
  q.on('reconnect', () => {
    connected.add(id);
    log(`node ${id}: ${paint(36, 'corosync back, tracking re-established')}`);
    changed();
  });
  await q.trackstart(CS_TRACK_CHANGES);
  connected.add(id);
  watchers.push({ q, vq });
}

/** Until every running node's client is connected and has printed that node's view. */
const caughtUp = async () => {
  const behind = () =>
    cluster.nodes.filter((n) => {
      const s = n.status();
      return s.running && (!connected.has(n.id) || shown.get(n.id) !== viewKey(s.quorate, s.members));
    });
  const limit = setTimeout(() => changed(new Error(`nodes ${behind().map((n) => n.id)} did not report their view within 30 s`)), 30_000);
  try {
    for (;;) {
      const next = new Promise((r) => (changed = r));
      await mock.settle();
      if (behind().length === 0) break;
      const err = await next;
      if (err) throw err;
    }
  } finally {
    clearTimeout(limit);
    changed = () => {};
  }
};
await caughtUp();

const step = async (title, action) => {
  await pause(1500);
  console.log(paint(1, `── ${title}`));
  action();
  await caughtUp();
};

await step('node 3 fails (killed)', () => cluster.node(3).kill());
await step('node 2 fails too: node 1 alone has 1 of 3 votes', () => cluster.node(2).kill());
await step('node 2 comes back', () => cluster.node(2).start());
await step('node 3 comes back', () => cluster.node(3).start());

await pause(1000);
for (const { q, vq } of watchers) {
  await q.finalize();
  await vq.finalize();
}
await mock.close();
console.log(paint(1, 'done'));
