#!/usr/bin/env node
// Checks the codec catalog's cpg and cfg layouts against gcc: generates a C program that prints
// offsetof/sizeof of every struct and member the catalog names, compiles it against corosync's
// own headers of the version given, and compares every number with the catalog.
//
//   node tools/capture/offsets.mjs <dir with corosync/ipc_cpg.h, ipc_cfg.h, mar_gen.h, ...>
//
// The headers are not part of this repository: take them from the corosync tag, e.g.
//   git -C <corosync clone> show v3.1.7:include/corosync/ipc_cpg.h > <dir>/corosync/ipc_cpg.h
// (and ipc_cfg.h, mar_gen.h, swab.h, corotypes.h, cfg.h, hdb.h, totem/totem.h). libqb's headers
// come from libqb-dev. Needs the built codec (pnpm --filter @corosync-ts/codec-wasm build).
// totem.h needs libknet's headers, so only its PROCESSOR_COUNT_MAX is taken from it: the
// definition of the normal build (the last one; the first is COROSYNC_SMALL_MEMORY's).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { messages } = await import(join(here, '..', '..', 'packages', 'codec-wasm', 'dist', 'catalog.js'));

const includeDir = process.argv[2];
if (!includeDir) {
  console.error('usage: offsets.mjs <include dir holding corosync/*.h of the version to check>');
  process.exit(2);
}

/** catalog message -> C struct, and the C member of each field where it is not the snake_case name. */
const STRUCTS = {
  'req cfg.ringStatusGet': ['struct req_lib_cfg_ringstatusget'],
  'req cfg.ringReenable': ['struct req_lib_cfg_ringreenable'],
  'req cfg.killNode': ['struct req_lib_cfg_killnode'],
  'req cfg.tryShutdown': ['struct req_lib_cfg_tryshutdown'],
  'req cfg.replytoShutdown': ['struct req_lib_cfg_replytoshutdown'],
  'req cfg.getNodeAddrs': ['struct req_lib_cfg_get_node_addrs'],
  'req cfg.localGet': ['struct req_lib_cfg_local_get'],
  'req cfg.reloadConfig': ['struct req_lib_cfg_reload_config'],
  'req cfg.reopenLogFiles': ['struct req_lib_cfg_reopen_log_files'],
  'req cfg.nodeStatusGet': ['struct req_lib_cfg_nodestatusget'],
  'req cfg.trackstart': ['struct req_lib_cfg_trackstart'],
  'req cfg.trackstop': ['struct req_lib_cfg_trackstop'],
  'res cfg.ringStatusGet': ['struct res_lib_cfg_ringstatusget'],
  'res cfg.ringReenable': ['struct res_lib_cfg_ringreenable'],
  'res cfg.trackstart': ['struct res_lib_cfg_trackstart'],
  'res cfg.trackstop': ['struct res_lib_cfg_trackstop'],
  'res cfg.killNode': ['struct res_lib_cfg_killnode'],
  'res cfg.tryShutdown': ['struct res_lib_cfg_tryshutdown'],
  'res cfg.getNodeAddrs': ['struct res_lib_cfg_get_node_addrs'],
  'res cfg.localGet': ['struct res_lib_cfg_local_get'],
  'res cfg.replytoShutdown': ['struct res_lib_cfg_replytoshutdown'],
  'res cfg.reloadConfig': ['struct res_lib_cfg_reload_config'],
  'res cfg.reopenLogFiles': ['struct res_lib_cfg_reopen_log_files'],
  'res cfg.nodeStatusGet': ['struct res_lib_cfg_nodestatusget_v1', { prefix: 'node_status.' }],
  'evt cfg.shutdownCallback': ['struct res_lib_cfg_testshutdown'],
  'res cfg.error': ['struct qb_ipc_response_header'],

  'req cpg.join': ['struct req_lib_cpg_join'],
  'req cpg.leave': ['struct req_lib_cpg_leave'],
  'req cpg.mcastJoined': ['struct req_lib_cpg_mcast'],
  'req cpg.membershipGet': ['struct req_lib_cpg_membership_get'],
  'req cpg.localGet': ['struct req_lib_cpg_local_get'],
  'req cpg.iterationInitialize': ['struct req_lib_cpg_iterationinitialize'],
  'req cpg.iterationNext': ['struct req_lib_cpg_iterationnext'],
  'req cpg.iterationFinalize': ['struct req_lib_cpg_iterationfinalize'],
  'req cpg.finalize': ['struct req_lib_cpg_finalize'],
  'req cpg.zcbAlloc': ['mar_req_coroipcc_zc_alloc_t'],
  'req cpg.zcbFree': ['mar_req_coroipcc_zc_free_t'],
  'req cpg.zcbMcastJoined': ['mar_req_coroipcc_zc_execute_t'],
  'req cpg.partialMcast': ['struct req_lib_cpg_partial_mcast', { members: { fragment: 'message' } }],
  'res cpg.join': ['struct res_lib_cpg_join'],
  'res cpg.leave': ['struct res_lib_cpg_leave'],
  'res cpg.zcbMcastJoined': ['struct qb_ipc_response_header'],
  'res cpg.membershipGet': ['struct res_lib_cpg_membership_get'],
  'res cpg.localGet': ['struct res_lib_cpg_local_get'],
  'res cpg.iterationInitialize': ['struct res_lib_cpg_iterationinitialize'],
  'res cpg.iterationNext': ['struct res_lib_cpg_iterationnext', { members: { groupName: 'description.group' }, prefix: 'description.' }],
  'res cpg.iterationFinalize': ['struct res_lib_cpg_iterationfinalize'],
  'res cpg.finalize': ['struct res_lib_cpg_finalize'],
  'res cpg.partialMcast': ['struct res_lib_cpg_partial_send'],
  'res cpg.error': ['struct qb_ipc_response_header'],
  'evt cpg.confchgCallback': ['struct res_lib_cpg_confchg_callback', { lists: true }],
  'evt cpg.deliverCallback': ['struct res_lib_cpg_deliver_callback'],
  'evt cpg.totemConfchgCallback': ['struct res_lib_cpg_totem_confchg_callback'],
  'evt cpg.partialDeliverCallback': ['struct res_lib_cpg_partial_deliver_callback', { members: { fragment: 'message' } }],
};

/** Element structs the codec lays out by hand (codec.ts readFields / writeElement). */
const ELEMENTS = [
  ['mar_cpg_name_t', 136, { length: 0, value: 8 }],
  ['mar_cpg_address_t', 24, { nodeid: 0, pid: 8, reason: 16 }],
  ['mar_cpg_ring_id_t', 16, { nodeid: 0, seq: 8 }],
  ['cs_name_t', 258, { length: 0, value: 2 }],
  ['struct corosync_knet_link_status_v1', 520, { enabled: 0, connected: 1, dynconnected: 2, mtu: 4, src_ipaddr: 8, dst_ipaddr: 264 }],
  ['struct qb_ipc_request_header', 16, { id: 0, size: 8 }],
  ['struct qb_ipc_response_header', 24, { id: 0, size: 8, error: 16 }],
];

const WIDTH = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, i64: 8, cpgName: 136, csName: 258, ringId: 16 };
const ELEMENT = { bytes: 1, u32list: 4, addrList: 16, cpgAddrList: 24 };
const snake = (s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const checks = []; // [label, C expression, expected]
for (const m of messages) {
  if (m.service !== 'cpg' && m.service !== 'cfg') continue;
  const key = `${m.dir} ${m.name}`;
  const entry = STRUCTS[key];
  if (!entry) throw new Error(`no C struct mapped for ${key}`);
  const [struct, opt = {}] = entry;
  const hdr = (m.header ?? (m.dir === 'req' ? 'request' : 'response')) === 'request' ? 16 : 24;
  if (struct !== 'struct qb_ipc_response_header') checks.push([`${key}: header`, `sizeof(((${struct} *)0)->header)`, hdr]);
  checks.push([`${key}: sizeof`, `sizeof(${struct})`, m.size]);
  if (m.errorSize !== undefined) checks.push([`${key}: error reply`, 'sizeof(struct res_lib_cfg_nodestatusget_version)', m.errorSize]);
  let firstVar = true;
  for (const f of m.fields) {
    let member = opt.members?.[f.name] ?? `${opt.prefix ?? ''}${snake(f.name)}`;
    if (ELEMENT[f.type] !== undefined) {
      // variable parts: the first is the struct's flexible array; the rest follow it on the wire
      if (!firstVar) continue;
      firstVar = false;
      if (opt.lists) member = 'member_list';
      checks.push([`${key}.${f.name}`, `offsetof(${struct}, ${member})`, f.offset]);
      if (f.type !== 'addrList') checks.push([`${key}.${f.name}[]`, `sizeof(((${struct} *)0)->${member}[0])`, ELEMENT[f.type]]);
      continue;
    }
    checks.push([`${key}.${f.name}`, `offsetof(${struct}, ${member})`, f.offset]);
    let width = WIDTH[f.type];
    if (f.type === 'chars') width = f.len;
    if (f.type === 'cpgAddrArray') width = 24 * f.capacity;
    if (f.type === 'charsArray') width = f.len * f.capacity;
    if (f.type === 'linkStatusArray') width = 520 * f.capacity;
    checks.push([`${key}.${f.name} size`, `sizeof(((${struct} *)0)->${member})`, width]);
    if (f.type === 'charsArray') checks.push([`${key}.${f.name}[] size`, `sizeof(((${struct} *)0)->${member}[0])`, f.len]);
  }
}
for (const [struct, size, members] of ELEMENTS) {
  checks.push([`${struct}: sizeof`, `sizeof(${struct})`, size]);
  for (const [k, off] of Object.entries(members)) checks.push([`${struct}.${k}`, `offsetof(${struct}, ${k})`, off]);
}

const totem = readFileSync(join(includeDir, 'corosync', 'totem', 'totem.h'), 'utf8');
const processorCountMax = [...totem.matchAll(/^#define PROCESSOR_COUNT_MAX\s+(\d+)/gm)].at(-1)?.[1];
if (!processorCountMax) throw new Error('no PROCESSOR_COUNT_MAX in totem.h');

const c = [
  '#include <stddef.h>',
  '#include <stdio.h>',
  `#define PROCESSOR_COUNT_MAX ${processorCountMax}`,
  '#include <qb/qbipc_common.h>',
  '#include <corosync/hdb.h>',
  '#include <corosync/corotypes.h>',
  '#include <corosync/cfg.h>',
  '#include <corosync/cpg.h>',
  '#include <corosync/ipc_cfg.h>',
  '#include <corosync/ipc_cpg.h>',
  'int main(void) {',
  ...checks.map(([, expr], i) => `  printf("%d %zu\\n", ${i}, (size_t)(${expr}));`),
  '  return 0;',
  '}',
].join('\n');

const dir = mkdtempSync(join(tmpdir(), 'cpgcfg-offsets-'));
try {
  writeFileSync(join(dir, 'offsets.c'), c);
  execFileSync('gcc', ['-I', resolve(includeDir), '-o', join(dir, 'offsets'), join(dir, 'offsets.c')], { stdio: 'inherit' });
  const out = execFileSync(join(dir, 'offsets'), { encoding: 'utf8' }).trim().split('\n');
  let bad = 0;
  for (const line of out) {
    const [i, v] = line.split(' ').map(Number);
    const [label, expr, want] = checks[i];
    if (v !== want) {
      bad++;
      console.log(`MISMATCH ${label}: catalog ${want}, gcc ${expr} = ${v}`);
    }
  }
  console.log(`${checks.length} offsetof/sizeof checks, ${bad} mismatches`);
  process.exitCode = bad === 0 ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
