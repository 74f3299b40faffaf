// bench/cpg: cpg mcast throughput and latency, @corosync-ts/client against libcpg on one private
// corosync 3.1.7, both IPC transports; then the same load served by corosync-mock (testkit).
//   node bench/cpg/run.mjs [n=10000] [--sizes 64,1024,65536,1048576] [--no-mock]
// n is the message count at 64 B and 1 KiB; larger sizes send a fixed number of bytes (counts()
// below). Needs root
// (namespaces), corosync, gcc and libcpg-dev; builds nothing itself: run
// `pnpm --filter @corosync-ts/client... --filter @corosync-ts/testkit... build` first.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC, startNamespace } from '@corosync-ts/nstest/core';
import { emitFigures, median } from '../lib/figures.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 10000);
const SIZES = (opt('--sizes') ?? '64,1024,65536,1048576').split(',').map(Number);
const withMock = !args.includes('--no-mock');
const ROUNDS = process.env.BENCH_QUICK ? 3 : 5;
const CLI = here('../../packages/testkit/dist/cli.js');

const sizeName = (s) => (s >= 1048576 ? `${s / 1048576}m` : s >= 1024 ? `${s / 1024}k` : String(s));
const sizeText = (s) => (s >= 1048576 ? `${s / 1048576} MiB` : s >= 1024 ? `${s / 1024} KiB` : `${s} B`);

/**
 * Messages per run at a size: n at ≤ 1 KiB, TPUT_BYTES' worth above; round trips for latency
 * shrink with the size. Both sides first send as
 * many unmeasured as they then measure (the client area's rule), and at least a floor: the figures
 * are the steady state of a long-running sender. A fifth left V8 compiling the whole send and
 * delivery path during the measured burst; 20 warm-up messages (64 KiB, 1 MiB) left the process's
 * last start-up garbage collection in it; 2,000 at 64 B still left ~20 TurboFan compiles in it
 * (CPU per message 16-17 µs, against 2.6-3.6 after 20,000: README "cpg", what the client's CPU
 * per message includes). Throughput bursts warm up with at least TPUT_WARM messages, round trips
 * with LAT_WARM: 200 round trips after 2,000 held a scavenge and one or two TurboFan compiles of
 * the delivery path (onEvt...) in every run, and the client's per-500 medians only settled after
 * ~2,500 round trips; after 6,000 its p99 fell from 3-4x libcpg's to libcpg's (README "cpg", a
 * small round trip's timeline).
 */
const TPUT_WARM = 20000;
const LAT_WARM = 6000;
/**
 * ...as long as that floor stays within these bytes: corosync-mock disconnects a client with more
 * than 64 MiB of events waiting (testkit server.ts, maxQueuedEventBytes), which 200 × 1 MiB sent by
 * libcpg's sending thread faster than its dispatch thread reads reached. 1 MiB keeps its 20.
 */
const WARM_BYTES = 16 << 20;
/**
 * Bytes a throughput burst on corosync moves above 1 KiB, whatever n: 2,048 × 64 KiB, 128 × 1 MiB.
 * With 20 messages a run the ratio to libcpg of one build swung from 0.3 to 1.9 between runs at
 * 64 KiB and from 0.4 to 5.7 at 1 MiB (README "cpg", how many messages a large burst needs). On
 * corosync-mock a burst stays within WARM_BYTES as its warm-up does: with 128 × 1 MiB libcpg's
 * dispatch lost its connection (CS_ERR_LIBRARY: more than the mock's 64 MiB of events queued for
 * it), and the client's went the same way with 4,000 × 64 KiB (once with 2,048).
 */
const TPUT_BYTES = 128 << 20;
/**
 * On corosync, a throughput burst's warm-up floor (TPUT_WARM messages) stops at these bytes instead
 * of WARM_BYTES up to 64 KiB: 8,192 × 64 KiB. As many as measured (2,048) left TurboFan compiling
 * the client's send and receive path during the measured burst (`--trace-opt`: nine functions,
 * among them ipc's send and takeDatagrams); after 8,192 the client's CPU per message was 63-105
 * against 118-196 µs over socket, 23-26 against 36-45 µs over shm. 1 MiB keeps as many as it
 * measures (128): 512 first was faster over socket and not over shm (README "cpg", 64 KiB over
 * socket).
 */
const TPUT_WARM_BYTES = 512 << 20;
/**
 * A round trip's warm-up floor (LAT_WARM) stops at these bytes: 3,072 × 1 MiB. Capped at
 * TPUT_WARM_BYTES (512 round trips), the client's 1 MiB path stayed in V8's baseline tier through
 * the measured ones (`--trace-opt`: 14 functions optimized in the whole run, against 51 after
 * 3,000; ipc's send, submit, waitStep, cpg's deliver among those left out), each function being
 * called once or twice per round trip; its p50 was 1.3-1.6x libcpg's after 512 and 0.8-0.9x
 * after 3,000 (README "cpg", 1 MiB round trips: the warm-up).
 */
const LAT_WARM_BYTES = 3 * 2 ** 30;
function counts(size, mock) {
  const least = (floor, bytes = WARM_BYTES) => Math.min(floor, Math.floor(bytes / size));
  const tput = size <= 1024 ? n : Math.max(20, Math.round((mock ? WARM_BYTES : TPUT_BYTES) / size));
  const lat = size <= 1024 ? Math.max(50, Math.round(n / 10)) : Math.max(30, Math.round(n / (size <= 65536 ? 50 : 300)));
  const tputWarm = Math.max(tput, least(TPUT_WARM, mock ? WARM_BYTES : size <= 65536 ? TPUT_WARM_BYTES : TPUT_BYTES));
  // Round trips have one message in flight: nothing queues, so the mock's queue limit behind
  // WARM_BYTES does not apply. With it, 64 KiB had 256 round trips of warm-up, and the client's
  // second-slowest of 40 was 3.5-5.3 ms against 0.15-0.96 after 6,000 (README "cpg", a 64 KiB
  // round trip: where the delivery wakes the client).
  return { tput, tputWarm, lat, latWarm: Math.max(lat, least(LAT_WARM, LAT_WARM_BYTES)) };
}

const cbench = await compileC(readFileSync(here('./cbench.c'), 'utf8'), ['cpg', '-lpthread'], { cflags: ['-O2'] });
const sides = { c: [cbench], ts: [process.execPath, here('./tsbench.mjs')] };

async function runOne(ns, side, mode, size, mock) {
  const c = counts(size, mock);
  const [count, warm] = mode === 'tput' ? [c.tput, c.tputWarm] : [c.lat, c.latWarm];
  const r = await ns.exec([...sides[side], mode, String(size), String(count), String(warm)], { timeout: 600_000 });
  const [a, b, cpu] = r.stdout.trim().split(' ').map(Number);
  if (r.code !== 0 || !(a > 0) || !(b >= 0) || (mode === 'tput' && !(cpu >= 0))) {
    throw new Error(`${side} ${mode} ${size} failed (exit ${r.code ?? r.signal}): ${r.stdout} ${r.stderr}`);
  }
  if (mode === 'tput') return { msgs: count / (a / 1e9), retries: b, cpu: cpu / 1e3 / count };
  return { p50: a / 1e3, p99: b / 1e3 };
}

/** ROUNDS rounds, C and TS interleaved in each, every size: { c: { size: [samples] }, ts: ... }. */
async function measure(ns, what, mock = false) {
  const m = { c: {}, ts: {} };
  for (const s of SIZES) {
    // one unmeasured run of each side first: page cache, the daemon's first allocations (a
    // burst of WARM_BYTES at most is enough for those)
    await runOne(ns, 'c', 'tput', s, true);
    await runOne(ns, 'ts', 'tput', s, true);
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of SIZES) {
      for (const side of ['c', 'ts']) {
        const t = await runOne(ns, side, 'tput', s, mock);
        const l = await runOne(ns, side, 'lat', s, mock);
        (m[side][s] ??= []).push({ ...t, ...l });
      }
    }
    process.stdout.write(`  ${what}: round ${r + 1}/${ROUNDS} done\n`);
  }
  const med = (xs, k) => median(xs.map((x) => x[k]));
  const out = { c: {}, ts: {} };
  for (const side of ['c', 'ts']) {
    for (const s of SIZES) {
      const xs = m[side][s];
      out[side][s] = { msgs: med(xs, 'msgs'), mbs: (med(xs, 'msgs') * s) / 1e6, cpu: med(xs, 'cpu'), p50: med(xs, 'p50'), p99: med(xs, 'p99'), retries: med(xs, 'retries') };
    }
  }
  return out;
}

/** corosync-mock started in the namespace from the conf corosync ran with; resolves once it serves. */
async function startMock(ns, conf) {
  const confPath = join(ns.dir, 'mock.conf');
  writeFileSync(confPath, conf);
  const child = ns.spawn([process.execPath, CLI, '--config', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d;
      if (/serving/.test(err)) resolve();
    });
    child.once('exit', (code, sig) => reject(new Error(`corosync-mock exited (${code ?? sig}) before serving: ${err}`)));
  });
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.removeAllListeners('exit');
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  };
}

const results = {};
for (const transport of ['socket', 'shm']) {
  const ns = await startNamespace({ name: `bench-cpg-${transport}` });
  try {
    const proc = await ns.startCorosync({ transport });
    results[transport] = { corosync: await measure(ns, `corosync ${transport}`) };
    if (withMock) {
      await ns.stopCorosync();
      const stop = await startMock(ns, proc.conf);
      try {
        results[transport].mock = await measure(ns, `mock ${transport}`, true);
      } finally {
        await stop();
      }
    }
  } finally {
    await ns.close();
  }
}

const figures = [];
const fig = (id, label, unit, higherIsBetter, baseline, ours, baselineName) =>
  figures.push({ id, area: 'cpg', label, unit, higherIsBetter, baseline, ours, baselineName });
for (const [t, r] of Object.entries(results)) {
  for (const s of SIZES) {
    const { tput, lat, latWarm } = counts(s, false);
    const mockTput = counts(s, true).tput;
    const [c, ts, z] = [r.corosync.c[s], r.corosync.ts[s], sizeName(s)];
    fig(`cpg.mcast.msgs.${t}.${z}`, `mcast throughput, ${tput} × ${sizeText(s)} (first send → last own delivery), ${t}`, 'msgs/s', true, c.msgs, ts.msgs, 'libcpg');
    fig(`cpg.mcast.mbs.${t}.${z}`, `mcast throughput, ${tput} × ${sizeText(s)}, ${t}`, 'MB/s', true, c.mbs, ts.mbs, 'libcpg');
    fig(`cpg.mcast.cpu.${t}.${z}`, `CPU per message during that burst (user + system, all threads), ${sizeText(s)}, ${t}`, 'µs/msg', false, c.cpu, ts.cpu, 'libcpg');
    fig(`cpg.mcast.latency.${t}.${z}`, `mcast round trip p50, ${lat} × ${sizeText(s)} after ${latWarm} warm-up (send → own delivery), ${t}`, 'µs', false, c.p50, ts.p50, 'libcpg');
    fig(`cpg.mcast.latency.p99.${t}.${z}`, `mcast round trip p99, ${lat} × ${sizeText(s)} after ${latWarm} warm-up, ${t}`, 'µs', false, c.p99, ts.p99, 'libcpg');
    if (r.mock) {
      const [mc, mts] = [r.mock.c[s], r.mock.ts[s]];
      fig(`cpg.mock.msgs.${t}.${z}`, `corosync-mock serving libcpg's mcast, ${mockTput} × ${sizeText(s)}${mockTput === tput ? '' : ` (corosync: ${tput})`}, ${t}`, 'msgs/s', true, c.msgs, mc.msgs, 'corosync 3.1.7 (RR 99)');
      fig(`cpg.mock.ts.msgs.${t}.${z}`, `client mcast throughput on corosync-mock, ${mockTput} × ${sizeText(s)}, ${t}`, 'msgs/s', true, mc.msgs, mts.msgs, 'libcpg on the mock');
      fig(`cpg.mock.ts.latency.${t}.${z}`, `client mcast round trip p50 on corosync-mock, ${lat} × ${sizeText(s)}, ${t}`, 'µs', false, mc.p50, mts.p50, 'libcpg on the mock');
    }
  }
}
emitFigures(figures);

const f = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
console.log(`\nmedians of ${ROUNDS} interleaved rounds; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('| server | transport | size | libcpg msgs/s | ours msgs/s | ratio | libcpg MB/s | ours MB/s | CPU µs/msg C / TS | libcpg p50 µs | ours p50 µs | ratio | libcpg p99 µs | ours p99 µs | TRY_AGAIN C / TS |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const [t, r] of Object.entries(results)) {
  for (const [server, m] of Object.entries(r)) {
    for (const s of SIZES) {
      const [c, ts] = [m.c[s], m.ts[s]];
      console.log(`| ${server} | ${t} | ${sizeText(s)} | ${f(c.msgs)} | ${f(ts.msgs)} | ${(ts.msgs / c.msgs).toFixed(2)}x | ${f(c.mbs)} | ${f(ts.mbs)} | ${f(c.cpu)} / ${f(ts.cpu)} | ${f(c.p50)} | ${f(ts.p50)} | ${(c.p50 / ts.p50).toFixed(2)}x | ${f(c.p99)} | ${f(ts.p99)} | ${c.retries} / ${ts.retries} |`);
    }
  }
}
