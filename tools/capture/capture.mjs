#!/usr/bin/env node
// Regenerates packages/codec-wasm/test/vectors/*.jsonl from real corosync 3.1.7 traffic.
//
//   pnpm --filter @corosync-ts/nstest build && node tools/capture/capture.mjs
//
// Needs root, corosync, strace and gcc (see tools/nstest). A private 3-node cluster (only node 1
// running at first, qb_ipc_type: socket) is started in namespaces; capture.c and the stock tools
// run on node 1 under strace; every datagram they exchange becomes one vector whose expected
// fields come from what the program did (see expect.mjs), never from a decoder.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC, startCluster } from '../nstest/dist/core.js';
import { CmapModel, expectCStep, expectRawStep } from './expect.mjs';
import { parseStrace } from './strace.mjs';
import { cfgtoolRuns, cmapctlRuns, cpgtoolRuns, parseOracle, quorumtoolRuns } from './tools.mjs';
import { GLUE_ERROR_UNINIT, uninitRanges } from './uninit.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const OUT = join(here, '..', '..', 'packages', 'codec-wasm', 'test', 'vectors');
const TRACE = ['-f', '-xx', '-s', '70000', '-e', 'trace=socket,connect,bind,openat,sendto,recvfrom,recvmsg,sendmsg,writev,write,close'];

/** Wire ids, from corosync's ipc_*.h enums (not from the codec). */
const IDS = {
  setup: { 'qb.connectionRequest': -1, 'qb.connectionResponse': -1 },
  req: {
    'cmap.set': 0, 'cmap.delete': 1, 'cmap.get': 2, 'cmap.adjustInt': 3, 'cmap.iterInit': 4, 'cmap.iterNext': 5,
    'cmap.iterFinalize': 6, 'cmap.trackAdd': 7, 'cmap.trackDelete': 8, 'cmap.setCurrentMap': 9,
    'quorum.getquorate': 0, 'quorum.trackstart': 1, 'quorum.trackstop': 2, 'quorum.gettype': 3, 'quorum.modelGettype': 4,
    'votequorum.getinfo': 0, 'votequorum.setexpected': 1, 'votequorum.setvotes': 2, 'votequorum.trackstart': 3,
    'votequorum.trackstop': 4, 'votequorum.qdeviceRegister': 5, 'votequorum.qdeviceUnregister': 6,
    'votequorum.qdeviceUpdate': 7, 'votequorum.qdevicePoll': 8, 'votequorum.qdeviceMasterWins': 9,
    'cfg.ringStatusGet': 0, 'cfg.ringReenable': 1, 'cfg.killNode': 2, 'cfg.tryShutdown': 3, 'cfg.replytoShutdown': 4,
    'cfg.getNodeAddrs': 5, 'cfg.localGet': 6, 'cfg.reloadConfig': 7, 'cfg.reopenLogFiles': 8, 'cfg.nodeStatusGet': 9,
    'cfg.trackstart': 10, 'cfg.trackstop': 11,
    'cpg.join': 0, 'cpg.leave': 1, 'cpg.mcastJoined': 2, 'cpg.membershipGet': 3, 'cpg.localGet': 4,
    'cpg.iterationInitialize': 5, 'cpg.iterationNext': 6, 'cpg.iterationFinalize': 7, 'cpg.finalize': 8,
    'cpg.zcbAlloc': 9, 'cpg.zcbFree': 10, 'cpg.zcbMcastJoined': 11, 'cpg.partialMcast': 12,
  },
  res: {
    'cmap.set': 0, 'cmap.delete': 1, 'cmap.get': 2, 'cmap.adjustInt': 3, 'cmap.iterInit': 4, 'cmap.iterNext': 5,
    'cmap.iterFinalize': 6, 'cmap.trackAdd': 7, 'cmap.trackDelete': 8, 'cmap.setCurrentMap': 10,
    'quorum.getquorate': 0, 'quorum.trackstart': 1, 'quorum.trackstop': 2, 'quorum.gettype': 4, 'quorum.modelGettype': 5,
    'votequorum.status': 0, 'votequorum.getinfo': 1,
    'cfg.ringStatusGet': 0, 'cfg.ringReenable': 1, 'cfg.trackstart': 2, 'cfg.trackstop': 3, 'cfg.killNode': 8,
    'cfg.tryShutdown': 9, 'cfg.getNodeAddrs': 11, 'cfg.localGet': 12, 'cfg.replytoShutdown': 13, 'cfg.reloadConfig': 14,
    'cfg.reopenLogFiles': 15, 'cfg.nodeStatusGet': 16,
    'cpg.join': 0, 'cpg.leave': 1, 'cpg.zcbMcastJoined': 2, 'cpg.membershipGet': 3, 'cpg.localGet': 7,
    'cpg.iterationInitialize': 9, 'cpg.iterationNext': 10, 'cpg.iterationFinalize': 11, 'cpg.finalize': 12,
    'cpg.partialMcast': 18,
    // the bare header corosync answers an unknown request id with (ipc_glue.c)
    'quorum.error': 0, 'cfg.error': 0,
  },
  evt: {
    'cmap.notify': 9,
    'quorum.notification': 3, 'quorum.v1QuorumNotification': 6, 'quorum.v1NodelistNotification': 7,
    'votequorum.quorumNotification': 3, 'votequorum.expectedvotesNotification': 4, 'votequorum.nodelistNotification': 5,
    'cfg.shutdownCallback': 10,
    'cpg.confchgCallback': 4, 'cpg.deliverCallback': 5, 'cpg.totemConfchgCallback': 13, 'cpg.partialDeliverCallback': 17,
  },
};

const log = (...a) => console.error('[capture]', ...a);

/** Runs argv under strace inside `ns`; `onWait(what)` is awaited whenever the program asks. */
async function traced(ns, name, argv, { onWait, input, changes, exitCode = 0, stringLimit } = {}) {
  const traceFile = join(ns.dir, `${name}.strace`);
  const trace = stringLimit ? TRACE.map((a) => (a === '70000' ? String(stringLimit) : a)) : TRACE;
  const child = ns.spawn(['strace', ...trace, '-o', traceFile, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let pending = Promise.resolve();
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    const before = stdout;
    stdout += d;
    const fresh = stdout.slice(before.lastIndexOf('\n') + 1).split('\n').slice(0, -1);
    for (const line of fresh) {
      if (!line.startsWith('@@')) continue;
      const j = JSON.parse(line.slice(2));
      if (j.k === 'wait') {
        pending = pending.then(async () => {
          log(`${name}: ${j.what}`);
          await onWait(j.what);
          child.stdin.write('\n');
        });
      }
    }
  });
  if (input !== undefined) child.stdin.write(input);
  if (changes) {
    // a tracker: make the changes from other processes once it is listening, then "q"
    const deadline = Date.now() + 30_000;
    while (!stdout.includes('Type "q" to finish')) {
      if (Date.now() > deadline) throw new Error(`${name} never started tracking: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const c of changes) {
      await ns.execOk(['corosync-cmapctl', ...c]);
      await new Promise((r) => setTimeout(r, 300));
    }
    child.stdin.write('q\n');
  }
  const code = await new Promise((r) => child.on('close', r));
  await pending;
  if (code !== exitCode) throw new Error(`${argv.join(' ')} exited with ${code}\n${stderr}\n${stdout.slice(-2000)}`);
  return { trace: readFileSync(traceFile, 'utf8'), stdout };
}

function header(bytes) {
  const b = Buffer.from(bytes);
  return { id: b.readInt32LE(0), size: b.readInt32LE(8), error: bytes.length >= 24 ? b.readInt32LE(16) : undefined };
}

/** Pairs expected messages with observed ones and checks the headers agree; returns vectors. */
function pair(expected, observed, source, { memsetRequests = false } = {}) {
  if (expected.length !== observed.length) {
    throw new Error(
      `${source}: expected ${expected.length} messages (${expected.map((e) => `${e.dir} ${e.name}`).join(', ')}), ` +
        `saw ${observed.length} (${observed.map((o) => `${o.service} ${o.dir} ${o.bytes.length}B`).join(', ')})`,
    );
  }
  const out = [];
  expected.forEach((e, i) => {
    const o = observed[i];
    if (o.service !== e.service || o.dir !== e.dir) {
      throw new Error(`${source}: message ${i} expected ${e.service} ${e.dir} ${e.name}, saw ${o.service} ${o.dir}`);
    }
    if (e.skip) return;
    const id = IDS[e.dir][e.name];
    if (id === undefined) throw new Error(`no id for ${e.dir} ${e.name}`);
    const h = header(o.bytes);
    if (h.id !== id || h.size !== o.bytes.length) {
      throw new Error(`${source}: ${e.name} header says id ${h.id} size ${h.size}; expected id ${id}, ${o.bytes.length} bytes`);
    }
    const fields = e.fill ? e.fill(o.bytes, o.observed) : e.fields;
    const v = {
      service: e.service,
      dir: e.dir,
      hex: Buffer.from(o.bytes).toString('hex'),
      name: e.name,
      id,
    };
    if (e.garbageError) {
      // cpg MCAST/PARTIAL_MCAST requests and deliver events: nobody sets the header's error
      v.error = 0;
    } else if (e.dir !== 'req' && e.dir !== 'setup') {
      if (h.error !== e.error) throw new Error(`${source}: ${e.name} error ${h.error}, program saw ${e.error}`);
      v.error = e.error;
    } else if (e.name === 'qb.connectionResponse') {
      if (h.error !== 0) throw new Error(`${source}: setup refused (${h.error})`);
      v.error = 0;
    }
    v.fields = fields;
    v.source = source;
    // raw.c memsets its requests; ipc_glue.c's bare error header is a stack struct
    v.uninit = e.viaGlue ? GLUE_ERROR_UNINIT : memsetRequests && v.dir === 'req' ? [] : uninitRanges(v);
    if (e.garbageError && !v.uninit.some(([off]) => off === 16)) v.uninit = [...v.uninit, [16, 4]];
    out.push(v);
  });
  return out;
}

/**
 * Splits a traced program's run into the steps it announced on stdout (`@@{"k":"step",...}` lines,
 * then its `ret`, `evt` and `fact` lines), each with the IPC messages strace saw during it.
 */
function splitSteps(trace, program) {
  const { items } = parseStrace(trace);
  const steps = [];
  let cur;
  for (const it of items) {
    if (it.kind === 'stdout') {
      for (const line of it.text.split('\n')) {
        if (!line.startsWith('@@')) continue;
        const j = JSON.parse(line.slice(2));
        if (j.k === 'step') steps.push((cur = { step: j, ret: undefined, evts: [], facts: [], msgs: [] }));
        else if (j.k === 'ret') cur.ret = j;
        else if (j.k === 'evt') cur.evts.push(j);
        else if (j.k === 'fact') cur.facts.push(j);
        else if (j.k === 'fatal') throw new Error(`${program}: ${j.msg}`);
      }
    } else {
      if (!cur) throw new Error(`message before the first step: ${it.service} ${it.dir}`);
      cur.msgs.push(it);
    }
  }
  return steps;
}

/** "op key=value ..." for a step, as the vectors' `source` shows it. */
function stepLabel(step) {
  const args = Object.entries(step)
    .filter(([k]) => k !== 'k' && k !== 'op')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  return `${step.op}${args ? ` ${args}` : ''}`;
}

/** raw.c: requests the libraries never send, made through libqb's public client API. */
function vectorsFromRaw(trace, oracle) {
  const steps = splitSteps(trace, 'raw.c');
  const state = { values: new Map(), pendingEvents: [], service: undefined };
  const out = [];
  for (const s of steps) {
    if (s.step.op === 'raw_connect') state.service = s.step.service;
    const source = `raw.c ${state.service}: ${stepLabel(s.step)}`;
    const expected = expectRawStep(s.step, s.ret, s.evts, s.facts, oracle, state);
    out.push(...pair(expected, s.msgs, source, { memsetRequests: true }));
  }
  if (state.pendingEvents.length) throw new Error(`raw.c: ${state.pendingEvents.length} announced events never read`);
  return out;
}

/** Splits a capture.c trace into steps and turns each into vectors. */
function vectorsFromC(section, trace) {
  const steps = splitSteps(trace, 'capture.c');
  const model = new CmapModel();
  const out = [];
  for (const s of steps) {
    const source = `capture.c ${section}: ${stepLabel(s.step)}`;
    out.push(...pair(expectCStep(s.step, s.ret, s.evts, model), s.msgs, source));
  }
  return out;
}

/** One stock-tool run under strace; `run.oracle` first asks capture.c for the state it will see. */
async function toolRun(ns, run) {
  let oracle;
  if (run.oracle) {
    const r = await ns.exec([bin, 'oracle']);
    if (r.code !== 0) throw new Error(`oracle failed: ${r.stdout}${r.stderr}`);
    oracle = parseOracle(r.stdout);
  }
  const exitCode = typeof run.exitCode === 'function' ? run.exitCode(oracle) : run.exitCode;
  const { trace, stdout } = await traced(ns, run.name, run.argv, { changes: run.changes, exitCode });
  const { items } = parseStrace(trace);
  const observed = items.filter((i) => i.kind === 'msg');
  const expected = run.expect(stdout, observed, oracle);
  const source = run.argv.join(' ').replace(/\/tmp\/\S*\/load\.txt/, 'load.txt').replace('stdbuf -oL ', '');
  const v = pair(expected, observed, source);
  log(`${run.name}: ${v.length} vectors`);
  return v;
}

let bin;

/** capture.c cpg-member, untraced: a cpg group for corosync-cpgtool to list, until stopped. */
async function cpgMember(ns, group) {
  const child = ns.spawn([bin, 'cpg-member', ...(group ? [group] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  const closed = new Promise((r) => child.on('close', r));
  const fact = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const line = stdout.split('\n').find((l) => l.includes('"what":"member"'));
      if (line) resolve(JSON.parse(line.slice(2)));
    });
    void closed.then(() => reject(new Error(`cpg-member exited: ${stdout}`)));
  });
  return {
    fact,
    async stop() {
      child.stdin.end();
      await closed;
    },
  };
}

async function main() {
  const started = Date.now();
  bin = await compileC(readFileSync(join(here, 'capture.c'), 'utf8'), ['cmap', 'quorum', 'votequorum', 'cfg', 'cpg']);
  log('compiled', bin);
  const cluster = await startCluster({ nodes: 3, start: [1], transport: 'socket' });
  const vectors = [];
  try {
    const n1 = cluster.node(1);
    log(`cluster up (${Date.now() - started} ms)`);
    let remoteMember;
    const onWait = async (what) => {
      if (what === 'start node 2') {
        await cluster.startNode(2);
        await cluster.waitForPartitions([[1, 2]]);
      } else if (what === 'cpg member on node 2') {
        await cluster.startNode(2);
        await cluster.waitForPartitions([[1, 2]]);
        remoteMember = await cpgMember(cluster.node(2), 'capture.grp');
      } else if (what === 'isolate node 2') {
        // a lost node, not a stopped one: a stopping corosync first reports its clients gone
        // (PROCDOWN); only a node that vanishes gives NODEDOWN
        await cluster.isolate(2);
        await cluster.waitForPartitions([[1], [2]]);
        await cluster.stopNode(2);
        await cluster.heal(2);
        await remoteMember.stop();
        remoteMember = undefined;
      } else if (what === 'stop node 2') {
        await cluster.stopNode(2);
        await cluster.waitForPartitions([[1]]);
      } else throw new Error(`unknown wait ${what}`);
    };
    for (const section of ['cmap', 'quorum', 'cfg', 'cpg']) {
      // try_shutdown waits this long for the tracker that never votes, then answers BUSY
      if (section === 'cfg') await n1.execOk(['corosync-cmapctl', '-s', 'cfg.shutdown_timeout', 'u32', '300']);
      // the cpg section multicasts 1 MiB + 1 byte: strace must show whole datagrams
      const stringLimit = section === 'cpg' ? 1_100_000 : undefined;
      const { trace } = await traced(n1, `capture-${section}`, [bin, section], { onWait, stringLimit });
      const v = vectorsFromC(section, trace);
      log(`capture.c ${section}: ${v.length} vectors`);
      vectors.push(...v);
    }
    const loadLines = ['capture.tool.loaded u16 7', '^capture.tool.str'];
    const loadPath = join(n1.dir, 'load.txt');
    writeFileSync(loadPath, `${loadLines.join('\n')}\n`);
    for (const run of cmapctlRuns({ path: loadPath, lines: loadLines })) {
      const vs = await toolRun(n1, run);
      vectors.push(...vs);
    }
    for (const run of quorumtoolRuns()) vectors.push(...(await toolRun(n1, run)));
    {
      const member = await cpgMember(n1);
      try {
        for (const run of cpgtoolRuns(member.fact)) vectors.push(...(await toolRun(n1, run)));
      } finally {
        await member.stop();
      }
    }
    for (const run of cfgtoolRuns()) vectors.push(...(await toolRun(n1, run)));
    {
      const rawBin = await compileC(readFileSync(join(here, 'raw.c'), 'utf8'), ['qb']);
      const o = await n1.exec([bin, 'oracle']);
      if (o.code !== 0) throw new Error(`oracle failed: ${o.stdout}${o.stderr}`);
      const { trace } = await traced(n1, 'raw', [rawBin]);
      const v = vectorsFromRaw(trace, parseOracle(o.stdout));
      log(`raw.c: ${v.length} vectors`);
      vectors.push(...v);
    }
  } finally {
    // After the cpg run, corosync takes its SIGKILL grace period to stop, and nothing of
    // nstest's keeps the event loop alive meanwhile (node would exit with 13 mid-close).
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await cluster.close();
    } finally {
      clearInterval(keepAlive);
    }
  }

  mkdirSync(OUT, { recursive: true });
  const files = new Map();
  // Every tool run opens the same connections: keep capture.c's handshakes and the first of each
  // service's from the tools (a 12 KiB reply each; the rest add no coverage).
  const seenSetup = new Set();
  for (const v of vectors) {
    if (v.dir === 'setup' && !v.source.startsWith('capture.c')) {
      const k = `${v.service} ${v.name}`;
      if (seenSetup.has(k)) continue;
      seenSetup.add(k);
    }
    const file = v.dir === 'setup' ? 'setup' : v.service;
    if (!files.has(file)) files.set(file, []);
    files.get(file).push(JSON.stringify(v));
  }
  for (const [file, lines] of files) {
    const text = `${lines.join('\n')}\n`;
    // the 1 MiB cpg fragments would make a plain file of megabytes: gzip what is that large
    const big = text.length > 1_000_000;
    const name = `${file}.jsonl${big ? '.gz' : ''}`;
    rmSync(join(OUT, `${file}.jsonl${big ? '' : '.gz'}`), { force: true });
    writeFileSync(join(OUT, name), big ? gzipSync(text, { level: 9 }) : text);
    log(`${name}: ${lines.length}`);
  }
  log(`done in ${Date.now() - started} ms`);
}

await main();
