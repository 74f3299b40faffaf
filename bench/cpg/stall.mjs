// Where a slow cpg burst waits (issue 14; bench/README.md "A small burst: the 50 ms stall"):
// libcpg and one tsbench.mjs side alternated on one private corosync (socket transport), each TS
// run with corosync's system calls recorded (`perf record -k CLOCK_MONOTONIC -p <corosync>`,
// root, perf on the PATH), then counted: the main thread's epoll_wait sleeps of 20 ms or more
// entered with libqb's 50 ms job-only timeout right after an event send refused with EAGAIN (an
// event in corosync's outq, retried by a QB_LOOP_HIGH job that nothing wakes).
//   node bench/cpg/stall.mjs SIZE N W ROUNDS /abs/path/tsbench.mjs
// Env: CHRT=p as ab.mjs; everything else (e.g. an experiment's switches) goes to the side.
import { execFileSync, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { startNamespace } from "@corosync-ts/nstest/core";
import { compileCbench } from "./args.mjs";

const [size, n, w, rounds, ts] = process.argv.slice(2);
if (!ts?.startsWith("/")) {
  process.stderr.write(
    "usage: stall.mjs SIZE N W ROUNDS /abs/path/tsbench.mjs\n"
  );
  process.exit(2);
}
const pre = process.env.CHRT ? ["chrt", "-r", process.env.CHRT] : [];
const cbench = await compileCbench();
const evs = ["epoll_wait", "sendto"]
  .flatMap((c) => ["-e", `syscalls:sys_exit_${c}`])
  .concat(["-e", "syscalls:sys_enter_epoll_wait"]);
const data = `/tmp/cpg-stall-${process.pid}.data`;

/** The main thread's (tid = pid) long job-only sleeps that follow a refused event send. */
function stalls(mainTid) {
  const text = execFileSync(
    "perf",
    ["script", "-i", data, "-F", "tid,time,event,trace"],
    { maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] }
  ).toString();
  const out = [];
  let refused = false;
  let enter;
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+([\d.]+):\s+syscalls:sys_(\w+):\s*(.*)$/.exec(line);
    if (!m || Number(m[1]) !== mainTid) continue;
    const [, , t, ev, rest] = m;
    if (ev === "exit_sendto") refused = rest.startsWith("0xfffffffffffffff5");
    else if (ev === "enter_epoll_wait")
      enter = {
        t: Number(t),
        timeout: parseInt(rest.split("timeout: ")[1], 16),
        refused,
      };
    else if (ev === "exit_epoll_wait" && enter) {
      const ms = (Number(t) - enter.t) * 1e3;
      if (ms >= 20 && enter.timeout === 50 && enter.refused)
        out.push(ms.toFixed(1));
      enter = undefined;
    }
  }
  return out;
}

const ns = await startNamespace({ name: "bench-cpg-stall" });
try {
  const cs = await ns.startCorosync({ transport: "socket" });
  for (let r = -1; r < Number(rounds); r++) {
    await ns.execOk([...pre, cbench, "tput", size, n, w], { timeout: 120_000 });
    const perf = spawn(
      "perf",
      [
        "record",
        "-q",
        "-k",
        "CLOCK_MONOTONIC",
        "-m",
        "4096",
        "-o",
        data,
        ...evs,
        "-p",
        String(cs.pid),
      ],
      { stdio: "ignore" }
    );
    await new Promise((res) => setTimeout(res, 500));
    const out = await ns.exec(
      [...pre, process.execPath, ts, "tput", size, n, w],
      { timeout: 120_000 }
    );
    perf.kill("SIGINT");
    await new Promise((res) => perf.on("exit", res));
    if (out.code !== 0)
      throw new Error(`${ts}: exit ${out.code} ${out.stderr}`);
    const [el, retries] = out.stdout.trim().split(" ").map(Number);
    if (r >= 0)
      console.log(
        `round ${r}: ${(Number(n) / (el / 1e9) / 1e3).toFixed(
          1
        )}k msgs/s, retries ${retries}, corosync's 50 ms job-only sleeps after a refused event send (whole run) [${stalls(
          cs.pid
        ).join(" ")}]`
      );
  }
} finally {
  await ns.close();
  rmSync(data, { force: true });
}
