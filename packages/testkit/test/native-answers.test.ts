// A repeated cmap GET is answered by the ipc addon's watcher without entering JavaScript
// (IpcServerConnection.answerRepeats). Every test here makes the connection answer repeats
// natively first (checked: its requests stop reaching JS), then does what must stop it, and fails
// if the armed answer were served: the client sends the same bytes for every GET, as libcmap does.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encoders, encodeCmapValue, readCapture, type CaptureFrameRecord } from '@corosync-ts/codec-wasm';
import { connect, IpcServerConnection, type IpcClient } from '@corosync-ts/ipc';
import { CMAP_VALUETYPE_UINT32 as U32, CS_ERR_NOT_EXIST, CS_ERR_TRY_AGAIN, CS_OK } from '@corosync-ts/types';
import { compileC, describeReal, startNamespace } from '@corosync-ts/nstest';
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { startMockCorosync, type MockCorosync, type NodeServices } from '../src/index.js';
import { oneNodeConf, startMockIn } from './helpers/mockns.js';

const KEY = 'test.native.v';
const GET = encoders.cmap.req.get({ keyName: KEY, valueLen: 4n });

/** Request frames that reached the mock's JavaScript (IpcServerConnection.deliver). */
let delivered = 0;
beforeEach(() => {
  delivered = 0;
  const deliver = IpcServerConnection.prototype.deliver;
  vi.spyOn(IpcServerConnection.prototype, 'deliver').mockImplementation(function (this: IpcServerConnection, f: Uint8Array) {
    delivered++;
    return deliver.call(this, f);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function get(c: IpcClient, frame = GET): Promise<{ error: number; value: number | undefined }> {
  const m = decode(await c.request(frame), { service: 'cmap', dir: 'res' });
  const f = m.fields as { value: Uint8Array };
  return { error: m.error ?? CS_OK, value: m.error === CS_OK ? new DataView(f.value.buffer, f.value.byteOffset, 4).getUint32(0, true) : undefined };
}

async function set(c: IpcClient, v: number): Promise<void> {
  const m = decode(await c.request(encoders.cmap.req.set({ keyName: KEY, type: U32, value: encodeCmapValue(U32, v) })), { service: 'cmap', dir: 'res' });
  expect(m.error).toBe(CS_OK);
}

/** The stats row of our one cmap connection (service 0). */
function cmapRow(svc: NodeServices): { requests: bigint; responses: bigint } {
  const map = svc.statsMap();
  const keys = map.keys('stats.ipcs.service0.').filter((k) => k.startsWith(`stats.ipcs.service0.${process.pid}.`));
  const row: Record<string, unknown> = {};
  for (const k of keys) row[k.slice(k.lastIndexOf('.') + 1)] = map.getValue(k);
  return row as { requests: bigint; responses: bigint };
}

for (const transport of ['socket', 'shm'] as const) {
  describe(`native answers over ${transport}`, () => {
    let mock: MockCorosync;
    let c: IpcClient;
    const node = () => mock.cluster.node(1);

    /** GETs until the repeats stop reaching JS: the answer is armed. */
    const armed = async (value: number) => {
      expect(await get(c)).toEqual({ error: CS_OK, value });
      const before = delivered;
      for (let i = 0; i < 5; i++) expect(await get(c)).toEqual({ error: CS_OK, value });
      expect(delivered).toBe(before);
    };

    beforeEach(async () => {
      mock = await startMockCorosync({ nodes: 1, transport });
      node().cmap.set(KEY, U32, 1);
      c = await connect(mock.endpoint().names.cmap);
    });
    afterEach(async () => {
      await c.close();
      await mock.close();
      expect(mock.errors).toEqual([]);
    });

    test('SET, from this client or another, then GET: the new value at once', async () => {
      await armed(1);
      await set(c, 2);
      expect(await get(c)).toEqual({ error: CS_OK, value: 2 });
      await armed(2);
      const other = await connect(mock.endpoint().names.cmap);
      await set(other, 3);
      await other.close();
      expect(await get(c)).toEqual({ error: CS_OK, value: 3 });
    });

    test('the daemon side changing the map (a reload, the simulator), DELETE and INC: the new answer at once', async () => {
      await armed(1);
      node().cmap.set(KEY, U32, 7);
      expect(await get(c)).toEqual({ error: CS_OK, value: 7 });
      await armed(7);
      const inc = decode(await c.request(encoders.cmap.req.adjustInt({ keyName: KEY, step: 1 })), { service: 'cmap', dir: 'res' });
      expect(inc.error).toBe(CS_OK);
      expect(await get(c)).toEqual({ error: CS_OK, value: 8 });
      await armed(8);
      const del = decode(await c.request(encoders.cmap.req.delete({ keyName: KEY })), { service: 'cmap', dir: 'res' });
      expect(del.error).toBe(CS_OK);
      expect(await get(c)).toEqual({ error: CS_ERR_NOT_EXIST, value: undefined });
    });

    test('a node restart (a new map) answers from the new map', async () => {
      await armed(1);
      node().kill();
      node().start();
      node().cmap.set(KEY, U32, 5);
      await mock.settle();
      await c.close();
      c = await connect(mock.endpoint().names.cmap);
      expect(await get(c)).toEqual({ error: CS_OK, value: 5 });
    });

    test('a fault injected on GET still applies, and its removal brings the value back', async () => {
      await armed(1);
      const f = mock.faults.inject({ call: 'cmap.get', error: CS_ERR_TRY_AGAIN, times: 2 });
      expect(await get(c)).toEqual({ error: CS_ERR_TRY_AGAIN, value: undefined });
      expect(await get(c)).toEqual({ error: CS_ERR_TRY_AGAIN, value: undefined });
      expect(f.hits).toBe(2);
      expect(await get(c)).toEqual({ error: CS_OK, value: 1 });
      // a fault that matches nothing yet (its predicate) keeps every GET in JS while it is in place
      const g = mock.faults.inject({ call: 'cmap.get', error: CS_ERR_TRY_AGAIN, when: () => false });
      const before = delivered;
      for (let i = 0; i < 3; i++) expect(await get(c)).toEqual({ error: CS_OK, value: 1 });
      expect(delivered).toBe(before + 3);
      g.remove();
    });

    test('stats.ipcs requests and responses count every natively answered GET, exactly', async () => {
      await armed(1);
      const base = cmapRow(mock.endpoint().services);
      expect(base.requests).toBe(base.responses);
      for (let i = 0; i < 100; i++) await get(c);
      expect(cmapRow(mock.endpoint().services)).toMatchObject({ requests: base.requests + 100n, responses: base.responses + 100n });
      for (let i = 0; i < 37; i++) await get(c);
      await set(c, 1);
      expect(cmapRow(mock.endpoint().services)).toMatchObject({ requests: base.requests + 138n, responses: base.responses + 138n });
      // and over IPC, as a client of the stats map reads it (the GETs' connection opened first)
      const s = await connect(mock.endpoint().names.cmap);
      await s.request(encoders.cmap.req.setCurrentMap({ map: 1 }));
      const name = mock.endpoint().services.statsMap().keys(`stats.ipcs.service0.${process.pid}.`).find((k) => k.endsWith('.requests'))!;
      const before = delivered;
      for (let i = 0; i < 10; i++) await get(c);
      expect(delivered).toBe(before);
      const r = decode(await s.request(encoders.cmap.req.get({ keyName: name, valueLen: 8n })), { service: 'cmap', dir: 'res' });
      expect(r.error).toBe(CS_OK);
      const v = (r.fields as { value: Uint8Array }).value;
      expect(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true)).toBe(base.requests + 148n);
      await s.close();
    });

    test('flow control stops it: a GET under level 2 waits in the mock and then gets the value of its time', async () => {
      await armed(1);
      const fc = mock.faults.flowControl({ service: 'cmap', level: 2 });
      const before = delivered;
      let answer: { error: number; value: number | undefined } | undefined;
      const p = get(c).then((a) => (answer = a));
      await vi.waitFor(() => expect(delivered).toBe(before + 1));
      expect(answer).toBeUndefined();
      node().cmap.set(KEY, U32, 9);
      fc.remove();
      await p;
      expect(answer).toEqual({ error: CS_OK, value: 9 });
    });

    test('repeats of hostile GETs (a key longer than the field, a truncated frame) get the first answer every time', async () => {
      const long = encoders.cmap.req.get({ keyName: KEY, valueLen: 4n }).slice();
      // mar_name_t's length word past the 256-byte field
      new DataView(long.buffer).setUint16(16, 300, true);
      const short = GET.slice(0, 40);
      new DataView(short.buffer).setInt32(8, 40, true);
      for (const frame of [long, short]) {
        const first = await c.request(frame);
        for (let i = 0; i < 5; i++) expect(await c.request(frame)).toEqual(first);
        node().cmap.set(KEY, U32, node().cmap.getValue(KEY) === 1 ? 2 : 1);
        const after = await c.request(frame);
        for (let i = 0; i < 3; i++) expect(await c.request(frame)).toEqual(after);
      }
    });
  });

  describe(`native answers over ${transport}, recorded`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tk-native-cap-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('a capture records every GET, request and response', async () => {
      const file = join(dir, `cap-${transport}.jsonl`);
      const mock = await startMockCorosync({ nodes: 1, transport, capture: file });
      mock.cluster.node(1).cmap.set(KEY, U32, 4);
      const c = await connect(mock.endpoint().names.cmap);
      for (let i = 0; i < 25; i++) expect(await get(c)).toEqual({ error: CS_OK, value: 4 });
      expect(delivered).toBe(25);
      await c.close();
      await mock.close();
      const frames = (await readCapture(readFileSync(file))).records.filter((r): r is CaptureFrameRecord => r.kind === 'frame' && r.service === 'cmap' && r.pid === process.pid);
      expect(frames.filter((f) => f.dir === 'req')).toHaveLength(25);
      expect(frames.filter((f) => f.dir === 'res')).toHaveLength(25);
    });
  });
}

// The same from libcmap itself, against the corosync-mock command in a namespace.
for (const transport of ['socket', 'shm'] as const) {
  describeReal(`native answers to libcmap over ${transport}`, () => {
    test('SET then GET sees the new value at once; the stats count every GET; a flood never read is answered in order', async () => {
      const prog = await compileC(readFileSync(new URL('./fixtures/native-gets.c', import.meta.url), 'utf8'), ['cmap', 'qb']);
      const ns = await startNamespace({ name: `tk-native-${transport}` });
      const mock = await startMockIn(ns, oneNodeConf('native', transport));
      try {
        const r = await ns.exec([prog], { timeout: 60_000 });
        expect(r.stderr).toBe('');
        const lines = r.stdout.trim().split('\n');
        expect(lines.slice(0, 5)).toEqual([0, 1, 2, 3, 4].map((i) => `round ${i}: ${i + 2}`));
        // 1 SET, then 5 rounds of 20 GETs, a SET and a GET; the stats connection's own row too
        expect(lines.slice(5)).toContain('requests 111 responses 111');
        // a client that sends GETs without reading an answer: all answered, in order, none wrong
        // (the mock keeps what does not fit for the client), and the mock serves on
        const f = await ns.exec([prog, 'flood', '200000'], { timeout: 60_000 });
        const m = /^sent=(\d+) answers=(\d+) wrong=0\n$/.exec(f.stdout);
        expect(m, f.stdout + f.stderr).not.toBeNull();
        expect(m![2]).toBe(m![1]);
        expect(Number(m![1])).toBeGreaterThan(1000);
        const again = await ns.exec([prog], { timeout: 60_000 });
        expect(again.stdout.split('\n').slice(0, 5)).toEqual([0, 1, 2, 3, 4].map((i) => `round ${i}: ${i + 2}`));
      } finally {
        await mock.stop();
        await ns.close();
      }
    }, 180_000);
  });
}
