import { decode, encoders } from '@corosync-ts/codec-wasm';
import { connect } from '@corosync-ts/ipc';
import { CS_ERR_TRY_AGAIN, CS_OK } from '@corosync-ts/types';
import { expect, test } from 'vitest';
import { startMockCorosync } from '../src/index.js';

async function until(what: string, ok: () => boolean, turns = 5000): Promise<void> {
  for (let i = 0; !ok(); i++) {
    if (i > turns) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

// The mock takes request frames lent by the transports (a view of one receive buffer that the
// next request overwrites): a multicast totem holds past its handler must keep its own copy.
for (const [transport, size] of [['socket', 65536], ['socket', 1024 * 1024 - 4096], ['shm', 65536], ['shm', 1024 * 1024 - 4096]] as const) {
  test(`${transport}: ${size}-byte multicasts held by totem keep their payloads while later requests reuse the receive buffer`, async () => {
    await using mock = await startMockCorosync({ nodes: 1, transport });
    const c = await connect(mock.endpoint().names.cpg);
    const got: number[][] = [];
    let joined = false;
    c.on('event', (f: Uint8Array) => {
      const d = decode(f, { service: 'cpg', dir: 'evt' });
      if (d.name === 'cpg.confchgCallback') joined = true;
      if (d.name === 'cpg.deliverCallback') {
        const m = (d.fields as { message: Uint8Array }).message;
        got.push([m.length, ...new Set(m)]);
      }
    });
    try {
      await c.request(encoders.cpg.req.join({ groupName: 'g', pid: 7, flags: 0 }));
      await until('joined', () => joined);
      mock.cluster.cpg.hold();
      // a ring takes one message of about 1 MiB: the next is refused (EAGAIN) until the mock has read it
      for (const b of [0xaa, 0xbb]) {
        const frame = encoders.cpg.req.mcastJoined({ guarantee: 2, message: new Uint8Array(size).fill(b) }).slice();
        for (;;) {
          const e = await c.send(frame, { flowControlMax: 2 }).catch((err: unknown) => err);
          if (e === undefined) break;
          expect(e).toMatchObject({ code: 'EAGAIN' });
          await new Promise((r) => setImmediate(r));
        }
      }
      // answered after both multicasts were handled (one connection's requests are served in order)
      await c.request(encoders.cpg.req.localGet({}));
      expect(got).toEqual([]);
      mock.cluster.cpg.release();
      await until('both delivered', () => got.length === 2);
      expect(got).toEqual([[size, 0xaa], [size, 0xbb]]);
    } finally {
      await c.close();
    }
  });
}

// A process of the simulation (cpgNode.connect, no IPC) keeps what it is delivered: a test that
// collects the messages must not find them overwritten by the next lent request.
for (const transport of ['socket', 'shm'] as const) {
  test(`${transport}: a simulated process keeps the bytes of every large multicast it was delivered`, async () => {
    await using mock = await startMockCorosync({ nodes: 1, transport });
    const kept: Uint8Array[] = [];
    const sim = mock.cluster.node(1).cpg.connect({
      confchg: () => {},
      deliver: (_g, _n, _p, message) => kept.push(message),
      partialDeliver: () => {},
      totemConfchg: () => {},
    });
    expect(sim.join(new TextEncoder().encode('g'), 4242, 0)).toBe(CS_OK);
    await mock.cluster.settle();
    const c = await connect(mock.endpoint().names.cpg);
    try {
      await c.request(encoders.cpg.req.join({ groupName: 'g', pid: 7, flags: 0 }));
      const size = 65536;
      for (const b of [0x11, 0x22, 0x33]) await c.send(encoders.cpg.req.mcastJoined({ guarantee: 2, message: new Uint8Array(size).fill(b) }), { flowControlMax: 2 });
      await c.request(encoders.cpg.req.localGet({}));
      await until('three delivered', () => kept.length === 3);
      expect(kept.map((m) => [m.length, ...new Set(m)])).toEqual([[size, 0x11], [size, 0x22], [size, 0x33]]);
    } finally {
      await c.close();
    }
  });
}

// A fault predicate may keep the requests it is shown.
test('a fault predicate keeps the bytes of every large request it was shown', async () => {
  await using mock = await startMockCorosync({ nodes: 1, transport: 'socket' });
  const seen: Uint8Array[] = [];
  mock.faults.inject({ call: 'cpg.mcastJoined', error: CS_ERR_TRY_AGAIN, when: (req) => (seen.push(req.frame), false) });
  const c = await connect(mock.endpoint().names.cpg);
  try {
    await c.request(encoders.cpg.req.join({ groupName: 'g', pid: 7, flags: 0 }));
    for (const b of [0x44, 0x55]) await c.send(encoders.cpg.req.mcastJoined({ guarantee: 2, message: new Uint8Array(65536).fill(b) }), { flowControlMax: 2 });
    await c.request(encoders.cpg.req.localGet({}));
    expect(seen.map((f) => f[f.length - 1])).toEqual([0x44, 0x55]);
  } finally {
    await c.close();
  }
});
