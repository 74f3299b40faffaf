import fc from 'fast-check';

// Generated command sequences for the differential quorum / votequorum drivers (test/cref/diff-vq.c
// and diff-vq.mjs; the language is in the C file's header). A sequence is a list of units: a call
// the daemon answers before totem delivers what it changed (setexpected, setvotes, every qdevice
// call) comes with a `wait_totem` after it, so what follows sees the change applied and its
// notifications queued; shrinking drops whole units and never leaves such a call without its wait.

const slot = fc.oneof({ weight: 16, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(3) });
const cb = fc.constantFrom(0, 1, 1);
/** Track flags: every combination of CURRENT / CHANGES / CHANGES_ONLY, and bits libquorum does not know. */
const trackFlags = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 7 }) }, { weight: 1, arbitrary: fc.constantFrom(8, 16, 255, 4294967295) });
/** Dispatch modes: ONE, ALL, ONE_NONBLOCKING, and ones the libraries refuse (BLOCKING would wait for ever). */
const dispMode = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(1, 2, 4) }, { weight: 1, arbitrary: fc.constantFrom(0, 5, 99) });
const ctx = fc.constantFrom('0', '7', '123456');
const u64ctx = fc.constantFrom('0', '42', '18446744073709551615');
/** Node ids: this node (0 and 1), configured but never seen (2, 3), unknown. */
const node = fc.constantFrom(0, 1, 1, 2, 3, 99);
const expected = fc.constantFrom(0, 1, 1, 2, 2, 3, 3, 4, 5, 100, 4294967295);
const votes = fc.constantFrom(0, 1, 1, 2, 2, 3, 10, 4294967295);
/** qdevice names: empty, short ones, the longest (254 bytes) and one past it. */
const qname = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('a', 'a', 'b') }, { weight: 1, arbitrary: fc.constantFrom('-', 'L254', 'L255') });
const vote = fc.constantFrom(0, 1, 2);
const ring = fc.oneof({ weight: 4, arbitrary: fc.constant('cur') }, { weight: 1, arbitrary: fc.constant('bad') });

const one = (a: fc.Arbitrary<string>) => a.map((c) => [c]);
const waited = (a: fc.Arbitrary<string>) => a.map((c) => [c, 'wait_totem']);

const unit: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 3, arbitrary: one(fc.tuple(slot, cb).map(([s, c]) => `qinit ${s} ${c}`)) },
  { weight: 2, arbitrary: one(fc.tuple(slot, fc.constantFrom(0, 1, 1, 2), ctx).map(([s, m, c]) => `qmodel ${s} ${m} ${c}`)) },
  { weight: 2, arbitrary: one(slot.map((s) => `qgetq ${s}`)) },
  { weight: 3, arbitrary: one(fc.tuple(slot, trackFlags).map(([s, f]) => `qtstart ${s} ${f}`)) },
  { weight: 1, arbitrary: one(slot.map((s) => `qtstop ${s}`)) },
  { weight: 4, arbitrary: one(fc.tuple(slot, dispMode).map(([s, m]) => `qdisp ${s} ${m}`)) },
  { weight: 1, arbitrary: one(fc.constantFrom('qfin 0', 'qfin 1')) },
  { weight: 1, arbitrary: one(fc.tuple(slot, ctx).map(([s, c]) => `qcset ${s} ${c}`)) },
  { weight: 1, arbitrary: one(slot.map((s) => `qcget ${s}`)) },
  { weight: 4, arbitrary: one(fc.tuple(slot, cb).map(([s, c]) => `vinit ${s} ${c}`)) },
  { weight: 1, arbitrary: one(fc.constantFrom('vfin 0', 'vfin 1')) },
  { weight: 3, arbitrary: one(fc.tuple(slot, node).map(([s, n]) => `vinfo ${s} ${n}`)) },
  { weight: 3, arbitrary: waited(fc.tuple(slot, expected).map(([s, e]) => `vsetexp ${s} ${e}`)) },
  { weight: 3, arbitrary: waited(fc.tuple(slot, node, votes).map(([s, n, v]) => `vsetvotes ${s} ${n} ${v}`)) },
  { weight: 3, arbitrary: one(fc.tuple(slot, u64ctx, trackFlags).map(([s, c, f]) => `vtstart ${s} ${c} ${f}`)) },
  { weight: 1, arbitrary: one(slot.map((s) => `vtstop ${s}`)) },
  { weight: 4, arbitrary: one(fc.tuple(slot, dispMode).map(([s, m]) => `vdisp ${s} ${m}`)) },
  { weight: 1, arbitrary: one(fc.tuple(slot, ctx).map(([s, c]) => `vcset ${s} ${c}`)) },
  { weight: 1, arbitrary: one(slot.map((s) => `vcget ${s}`)) },
  { weight: 3, arbitrary: waited(fc.tuple(slot, qname).map(([s, n]) => `vqreg ${s} ${n}`)) },
  { weight: 2, arbitrary: waited(fc.tuple(slot, qname).map(([s, n]) => `vqunreg ${s} ${n}`)) },
  { weight: 1, arbitrary: waited(fc.tuple(slot, qname, qname).map(([s, a, b]) => `vqupd ${s} ${a} ${b}`)) },
  { weight: 2, arbitrary: waited(fc.tuple(slot, qname, vote, ring).map(([s, n, v, r]) => `vqpoll ${s} ${n} ${v} ${r}`)) },
  { weight: 1, arbitrary: waited(fc.tuple(slot, qname, vote).map(([s, n, a]) => `vqmw ${s} ${n} ${a}`)) },
);

/**
 * A sequence of commands (units flattened). Most begin by opening handles and tracking, as a
 * program would, so that later calls meet open handles and changes meet trackers.
 */
export function vqSequence(maxUnits = 30): fc.Arbitrary<string[]> {
  const pre = fc.constantFrom<string[]>(
    [],
    ['qinit 0 1', 'vinit 0 1'],
    ['qinit 0 1', 'vinit 0 1', 'vtstart 0 42 2'],
    ['qmodel 0 1 7', 'qtstart 0 2', 'vinit 0 1', 'vtstart 0 42 6'],
    ['qinit 0 1', 'qtstart 0 4', 'vinit 0 1', 'vinit 1 1', 'vtstart 1 9 4'],
  );
  return fc.tuple(pre, fc.array(unit, { minLength: 2, maxLength: maxUnits, size: 'medium' })).map(([p, units]) => [...p, ...units.flat()]);
}
