import { encoders } from '@corosync-ts/codec-wasm';
import { CS_ERR_NOT_EXIST, CS_OK } from '@corosync-ts/types';
import { describe, expect, test } from 'vitest';
import { createCluster, ManualClock, NodeServices } from '../src/index.js';
import { FrameClient } from './helpers/frames.js';
import { get, getKeyWithoutNul, nameLength, oversize, stringSet } from './helpers/lenient-frames.js';

// The mock reads requests the way corosync's handlers do, not the way the codec decodes them:
// one test per leniency. hostile-clients.test.ts compares the cmap ones with corosync 3.1.7.

function setup() {
  const clock = new ManualClock();
  const cluster = createCluster({ clock, nodes: 3, quorum: { expectedVotes: 3 } });
  const svc = new NodeServices(cluster.node(1));
  return { clock, cluster, client: (s: 'cmap' | 'votequorum') => new FrameClient(s, svc) };
}

describe('requests are read leniently, like corosync', () => {
  test('an oversize frame is served from its catalog fields; the extra bytes are ignored', () => {
    const c = setup().client('cmap');
    const r = c.call(oversize(get('totem.cluster_name'), 64));
    expect(r.error).toBe(CS_OK);
    expect(r.name === 'cmap.get' && r.dir === 'res' && new TextDecoder().decode(r.fields.value)).toBe('mockcluster\0');
  });

  test('a truncated frame reads as zero-filled: a key cut short is looked up as what is left of it', () => {
    const c = setup().client('cmap');
    const full = get('totem.cluster_name');
    // the key survives up to "totem.clus"; valueLen reads as 0
    expect(c.call(full.subarray(0, 24 + 10)).error).toBe(CS_ERR_NOT_EXIST);
    expect(c.call(oversize(full.subarray(0, 24 + 18), 0)).error).toBe(CS_OK);
  });

  test('set/get/delete ignore the mar_name_t length word: the key is the C string in its value', () => {
    const c = setup().client('cmap');
    expect(c.call(nameLength(stringSet('tk.zero', 'a'), 0)).error).toBe(CS_OK);
    expect(c.call(nameLength(stringSet('tk.huge', 'b'), 0xffff)).error).toBe(CS_OK);
    expect(c.call(nameLength(get('tk.zero'), 300)).error).toBe(CS_OK);
    expect(c.call(nameLength(get('tk.huge'), 2)).error).toBe(CS_OK);
    expect(c.call(nameLength(encoders.cmap.req.delete({ keyName: 'tk.huge' }), 0)).error).toBe(CS_OK);
    expect(c.call(get('tk.huge')).error).toBe(CS_ERR_NOT_EXIST);
  });

  test('iter_init and track_add take a zero length word as "no prefix", whatever the value holds', () => {
    const c = setup().client('cmap');
    const it = c.call(nameLength(encoders.cmap.req.iterInit({ prefix: 'no.such.prefix' }), 0));
    expect(it.name === 'cmap.iterInit' && it.error).toBe(CS_OK);
    const h = it.name === 'cmap.iterInit' && it.dir === 'res' ? it.fields.iterHandle : 0n;
    // with the prefix honoured this would be NO_SECTIONS at once
    expect(c.call(encoders.cmap.req.iterNext({ iterHandle: h })).error).toBe(CS_OK);
  });

  test('a 256-byte key value without NUL is read to the end of its field', () => {
    const c = setup().client('cmap');
    const r = c.call(getKeyWithoutNul('k'));
    expect(r.error).toBe(CS_ERR_NOT_EXIST);
    expect(c.call(stringSet('k'.repeat(255), 'x')).error).toBe(CS_OK);
    // 256 'k' is not the 255-'k' key just set
    expect(c.call(getKeyWithoutNul('k')).error).toBe(CS_ERR_NOT_EXIST);
  });

  test('a char[255] name without NUL is read as its first 254 bytes', () => {
    const { client, clock } = setup();
    const c = client('votequorum');
    const reg = encoders.votequorum.req.qdeviceRegister({ name: '' });
    reg.fill('q'.charCodeAt(0), 16, 16 + 255);
    c.conn.handle(reg);
    clock.advance(0); // the totem step answers the registration
    expect(c.responses.length).toBe(1);
    const info = c.call(encoders.votequorum.req.getinfo({ nodeid: 1 }));
    expect(info.name === 'votequorum.getinfo' && info.dir === 'res' && info.fields.qdeviceName).toBe('q'.repeat(254));
  });
});
