import { decode, encoders, readResponseHeader } from '@corosync-ts/codec-wasm';
import { connect, isIpcError, type IpcClient } from '@corosync-ts/ipc';
import { CS_ERR_LIBRARY, CS_ERR_QUEUE_FULL, CS_ERR_TRY_AGAIN, CS_OK } from '@corosync-ts/types';
import { describe, expect, test } from 'vitest';
import { isMockError, ManualClock, startMockCorosync, type MockCorosync } from '../src/index.js';

// mock.faults: every kind of fault over both transports, deterministic under the ManualClock.

const enc = new TextEncoder();
const header = (f: Uint8Array) => readResponseHeader(f);
const tick = () => new Promise<void>((r) => setImmediate(r));

/** Waits for a state, never for a time: polls `ok` once per turn of the event loop. */
async function until(what: string, ok: () => boolean, turns = 5000): Promise<void> {
  for (let i = 0; !ok(); i++) {
    if (i > turns) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function statsOf(mock: MockCorosync, service: number, node?: number): Record<string, unknown> {
  const map = mock.endpoint(node).services.statsMap();
  const keys = map.keys(`stats.ipcs.service${service}.${process.pid}.`);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k.slice(k.lastIndexOf('.') + 1)] = map.getValue(k);
  return out;
}

describe('fault specs are checked when injected', () => {
  test('an unknown call, event, service or node, a bad error code, times or level: MockError EINVAL, nothing injected', async () => {
    await using mock = await startMockCorosync({ nodes: 2 });
    const bad: (() => unknown)[] = [
      () => mock.faults.inject({ call: 'cmap.nosuch' as 'cmap.get', error: CS_ERR_TRY_AGAIN }),
      () => mock.faults.inject({ call: 'cmap.getResponse' as 'cmap.get', error: CS_ERR_TRY_AGAIN }),
      () => mock.faults.inject({ call: 'cmap.get', error: CS_OK }),
      () => mock.faults.inject({ call: 'cmap.get', error: 12345 }),
      () => mock.faults.inject({ call: 'cmap.get', error: CS_ERR_TRY_AGAIN, times: 0 }),
      () => mock.faults.inject({ call: 'cmap.get', error: CS_ERR_TRY_AGAIN, times: 1.5 }),
      () => mock.faults.inject({ call: 'cmap.get', error: CS_ERR_TRY_AGAIN, node: 3 }),
      () => mock.faults.flowControl({ level: 3 as 1 }),
      () => mock.faults.flowControl({ service: 'evs' as 'cmap' }),
      () => mock.faults.flowControl({ for: -1 }),
      () => mock.faults.delay({ by: Number.NaN }),
      () => mock.faults.delay({ by: 1, event: 'cpg.deliver' as 'cpg.deliverCallback' }),
    ];
    for (const f of bad) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(isMockError(err) && err.code === 'EINVAL', String(err)).toBe(true);
    }
    const c = await connect(mock.endpoint().names.cmap);
    expect(header(await c.request(encoders.cmap.req.get({ keyName: 'totem.cluster_name', valueLen: 256n }))).error).toBe(CS_OK);
    await c.close();
  });
});

for (const transport of ['socket', 'shm'] as const) {
  describe(`faults over ${transport}`, () => {
    test('TRY_AGAIN for the next 2 cmap.get: the refusal corosync sends (bare header, id 0), counted as overload; then served', async () => {
      await using mock = await startMockCorosync({ nodes: 1, transport });
      const c = await connect(mock.endpoint().names.cmap);
      try {
        const fault = mock.faults.inject({ call: 'cmap.get', error: CS_ERR_TRY_AGAIN, times: 2 });
        const get = () => c.request(encoders.cmap.req.get({ keyName: 'totem.cluster_name', valueLen: 256n }));
        for (let i = 0; i < 2; i++) {
          const f = await get();
          expect({ length: f.length, ...header(f) }).toEqual({ length: 24, id: 0, size: 24, error: CS_ERR_TRY_AGAIN });
        }
        expect([fault.hits, fault.active]).toEqual([2, false]);
        expect(header(await get()).error).toBe(CS_OK);
        // other calls were never touched
        expect(header(await c.request(encoders.cmap.req.iterInit({ prefix: 'totem.' }))).error).toBe(CS_OK);
        expect(statsOf(mock, 0)).toMatchObject({ requests: 4n, responses: 4n, overload: 2n });
      } finally {
        await c.close();
      }
    });

    test('QUEUE_FULL only for the key a predicate picks, until removed; not an overload', async () => {
      await using mock = await startMockCorosync({ nodes: 1, transport });
      const c = await connect(mock.endpoint().names.cmap);
      try {
        const fault = mock.faults.inject({ call: 'cmap.set', error: CS_ERR_QUEUE_FULL, when: (r) => r.fields?.keyName === 'a.locked' });
        const set = (keyName: string) => c.request(encoders.cmap.req.set({ keyName, type: 6, valueLen: 4n, value: new Uint8Array(4) }));
        expect(header(await set('a.locked')).error).toBe(CS_ERR_QUEUE_FULL);
        expect(header(await set('a.free')).error).toBe(CS_OK);
        expect(header(await set('a.locked')).error).toBe(CS_ERR_QUEUE_FULL);
        fault.remove();
        expect(header(await set('a.locked')).error).toBe(CS_OK);
        expect(fault.hits).toBe(2);
        expect(statsOf(mock, 0)).toMatchObject({ overload: 0n });
      } finally {
        await c.close();
      }
    });

    test('flow control level 1 for 100 ms of the clock: sends fail with EAGAIN (CS_ERR_TRY_AGAIN) until the clock moves', async () => {
      const clock = new ManualClock();
      await using mock = await startMockCorosync({ nodes: 1, transport, clock });
      const c = await connect(mock.endpoint().names.cmap);
      try {
        const fc = mock.faults.flowControl({ service: 'cmap', for: 100 });
        const get = () => c.request(encoders.cmap.req.get({ keyName: 'totem.cluster_name', valueLen: 256n }));
        const refused = await get().then(() => undefined, (e: unknown) => e);
        expect(isIpcError(refused) && refused.code === 'EAGAIN').toBe(true);
        clock.advance(99);
        expect(fc.active).toBe(true);
        clock.advance(1);
        expect(fc.active).toBe(false);
        expect(header(await get()).error).toBe(CS_OK);
        expect(statsOf(mock, 0)).toMatchObject({ flow_control: 0, flow_control_count: 2n, requests: 1n });
      } finally {
        await c.close();
      }
    });

    test('a connection opened while flow control is on gets it too; one of another service does not', async () => {
      await using mock = await startMockCorosync({ nodes: 1, transport });
      using fc = mock.faults.flowControl({ service: 'quorum', level: 1 });
      const q = await connect(mock.endpoint().names.quorum);
      const m = await connect(mock.endpoint().names.cmap);
      try {
        expect(statsOf(mock, 3)).toMatchObject({ flow_control: 1, flow_control_count: 1n });
        expect(statsOf(mock, 0)).toMatchObject({ flow_control: 0, flow_control_count: 0n });
        expect(header(await m.request(encoders.cmap.req.iterInit({ prefix: '' }))).error).toBe(CS_OK);
        expect(fc.hits).toBe(1);
      } finally {
        await q.close();
        await m.close();
      }
    });

    test('delayed events: a cmap notification 50 ms late on the clock, and the one after it waits behind it', async () => {
      const clock = new ManualClock();
      await using mock = await startMockCorosync({ nodes: 1, transport, clock });
      const c = await connect(mock.endpoint().names.cmap);
      const seen: number[] = [];
      c.on('event', (f: Uint8Array) => {
        const v = decode(f, { service: 'cmap', dir: 'evt' }).fields as { newValue: Uint8Array };
        seen.push(new DataView(v.newValue.buffer, v.newValue.byteOffset).getUint32(0, true));
      });
      try {
        await c.request(encoders.cmap.req.trackAdd({ keyName: 'd.', trackType: 4 | 2 | 8, trackInstHandle: 1n }));
        const fault = mock.faults.delay({ event: 'cmap.notify', by: 50, times: 1 });
        const node = mock.cluster.node(1);
        node.cmap.set('d.k', 6, 1);
        node.cmap.set('d.k', 6, 2);
        await tick();
        await tick();
        expect(seen).toEqual([]);
        clock.advance(49);
        await tick();
        expect(seen).toEqual([]);
        clock.advance(1);
        await until('both notifications', () => seen.length === 2);
        expect(seen).toEqual([1, 2]);
        expect([fault.hits, fault.active]).toEqual([1, false]);
        node.cmap.set('d.k', 6, 3);
        await until('the third, at once', () => seen.length === 3);
      } finally {
        await c.close();
      }
    });

    test('a node killed between the fragments of a large cpg message: the others see NODEDOWN and never its last fragment', async () => {
      await using mock = await startMockCorosync({ nodes: 3, transport, endpoints: [1, 2] });
      const events: string[] = [];
      const open = async (node: number, pid: number): Promise<IpcClient> => {
        const c = await connect(mock.endpoint(node).names.cpg);
        if (node === 1) {
          c.on('event', (f: Uint8Array) => {
            const d = decode(f, { service: 'cpg', dir: 'evt' });
            const x = d.fields as { type?: number; leftList?: { nodeid: number; reason: number }[] };
            events.push(d.name === 'cpg.partialDeliverCallback' ? `partial ${x.type}` : d.name === 'cpg.confchgCallback' ? `confchg left=${JSON.stringify(x.leftList)}` : d.name);
          });
        }
        expect(header(await c.request(encoders.cpg.req.join({ groupName: 'big', pid, flags: 0 }))).error).toBe(CS_OK);
        return c;
      };
      const member = await open(1, 1001);
      const sender = await open(2, 2002);
      await until('both joined', () => events.filter((e) => e.startsWith('confchg')).length === 2);
      events.length = 0;
      const fault = mock.faults.inject({ call: 'cpg.partialMcast', node: 2, when: (r) => r.fields?.type === 3, killNode: true });
      const part = (type: number) => encoders.cpg.req.partialMcast({ guarantee: 2, msglen: 30, type, fragment: enc.encode('0123456789') });
      expect(header(await sender.request(part(1))).error).toBe(CS_OK);
      expect(header(await sender.request(part(2))).error).toBe(CS_OK);
      const last = await sender.request(part(3)).then(() => 'answered', (e: unknown) => (isIpcError(e) ? e.code : e));
      expect(last).not.toBe('answered');
      expect(fault.hits).toBe(1);
      await until('NODEDOWN', () => events.some((e) => e.startsWith('confchg')));
      await mock.settle();
      expect(events.filter((e) => e !== 'cpg.totemConfchgCallback')).toEqual(['partial 1', 'partial 2', `confchg left=${JSON.stringify([{ nodeid: 2, pid: 2002, reason: 3 }])}`]);
      expect(mock.cluster.node(2).running).toBe(false);
      // the member's connection serves on
      expect(header(await member.request(encoders.cpg.req.localGet({}))).error).toBe(CS_OK);
      await member.close();
      await sender.close().catch(() => {});
    });

    test('MCAST refused with TRY_AGAIN is dropped without an answer (as corosync drops it); the next call gets its own answer', async () => {
      await using mock = await startMockCorosync({ nodes: 1, transport });
      const c = await connect(mock.endpoint().names.cpg);
      const delivered: string[] = [];
      c.on('event', (f: Uint8Array) => {
        const d = decode(f, { service: 'cpg', dir: 'evt' });
        if (d.name === 'cpg.deliverCallback') delivered.push(new TextDecoder().decode((d.fields as { message: Uint8Array }).message));
      });
      try {
        await c.request(encoders.cpg.req.join({ groupName: 'g', pid: 7, flags: 0 }));
        const fault = mock.faults.inject({ call: 'cpg.mcastJoined', error: CS_ERR_TRY_AGAIN, times: 1 });
        const mcast = (s: string) => c.send(encoders.cpg.req.mcastJoined({ guarantee: 2, message: enc.encode(s) }), { flowControlMax: 2 });
        await mcast('lost');
        await mcast('kept');
        const local = await c.request(encoders.cpg.req.localGet({}));
        expect([decode(local, { service: 'cpg', dir: 'res' }).name, header(local).error]).toEqual(['cpg.localGet', CS_OK]);
        await until('delivery', () => delivered.length === 1);
        expect(delivered).toEqual(['kept']);
        expect(fault.hits).toBe(1);
        expect(statsOf(mock, 2)).toMatchObject({ overload: 1n, responses: 2n });
      } finally {
        await c.close();
      }
    });

    test('any cs_error_t: LIBRARY for every votequorum.getinfo of node 1 only', async () => {
      await using mock = await startMockCorosync({ nodes: 2, transport, endpoints: 'all' });
      mock.faults.inject({ call: 'votequorum.getinfo', node: 1, error: CS_ERR_LIBRARY });
      for (const [node, error] of [[1, CS_ERR_LIBRARY], [2, CS_OK]] as const) {
        const c = await connect(mock.endpoint(node).names.votequorum);
        expect(header(await c.request(encoders.votequorum.req.getinfo({ nodeid: 0 }))).error).toBe(error);
        await c.close();
      }
    });
  });
}
