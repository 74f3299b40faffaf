import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { compileC, describeDifference, describeReal, LineDriver, sequenceShare, settled, spawnDriver } from '@corosync-ts/nstest';
import { afterAll, beforeAll, it } from 'vitest';
import { oneNodeConf, startRealAndMock, stopRealAndMock, type RealAndMock } from './helpers/mockns.js';

// The mock's fidelity, differentially: the generated cmap sequences of the client's differential
// test (client/test/diff-cmap-gen.ts) run through libcmap (client/test/cref/diff-cmap.c, whose
// header has the command language) against corosync 3.1.7 and against corosync-mock, started
// from the same corosync.conf; both must print the same lines. On a difference fast-check
// shrinks the sequence and the failure shows the shortest one with both outputs.
//
// CI runs a fixed seed and DIFF_CMAP_RUNS sequences per transport (default 150, about 30 s each),
// half of them in each of its two passes (sequenceShare). Locally:
//   DIFF_CMAP_RUNS=2000 DIFF_CMAP_SEED=random pnpm --filter @corosync-ts/testkit exec vitest run test/real-diff-cmap-mock.test.ts
// What the comparison leaves out is the client test's list (test/real-diff-cmap.test.ts there);
// keys outside test.diff. (the daemon's own) are compared by the corosync-cmapctl dumps of
// real-tools.test.ts.

const RUNS = Number(process.env.DIFF_CMAP_RUNS ?? 150);
// Room for every run on a loaded machine: a timed-out property
// runs on behind the teardown, against stopped daemons, and its own failure is never shown.
const PROPERTY_MS = Math.max(600_000, RUNS * 1_000);
const SEED = process.env.DIFF_CMAP_SEED === 'random' ? undefined : Number(process.env.DIFF_CMAP_SEED ?? 20261206);
const CLIENT_TEST = new URL('../../client/test/', import.meta.url);

/** Shrunk sequences of the differences found, each a mock defect fixed since: run first, every time. */
const REGRESSIONS: [string, string[]][] = [
  // corosync's iterator reads its prefix at the first ITER_NEXT from the request buffer: over the
  // socket transport the connection's last request long enough to reach it (its key name), a NUL
  // there first finds nothing; another connection's requests change nothing. The mock used the
  // prefix ITER_INIT sent.
  ['iterator prefix read at the first next', ['init 0', 'iinit 0 1 stest.diff.', 'set 0 dbl stest.diff.p.a 0', 'setraw 0 -1 stest.diff.b x00', 'inext 0 1', 'inext 0 1']],
  ['iterator prefix after a request with an empty name', ['init 0', 'sets 0 stest.diff.a sx', 'iinit 0 1 stest.diff.', 'get 0 x -1', 'inext 0 1']],
  ['iterator prefix after short requests and another connection\'s', [
    'init 0', 'init 1', 'sets 0 stest.diff.a sx', 'sets 0 stest.diff.p.a sx', 'iinit 0 1 stest.diff.p.', 'iinit 0 2 stest.diff.', 'get 1 stest.diff.b -1',
    'inext 0 1', 'disp 0 2', 'inext 0 2', 'inext 0 2', 'get 0 stest.diff.p.a -1', 'inext 0 1', 'ifin 0 1', 'inext 0 2', 'iinit 0 1 x', 'inext 0 1',
  ]],
  // qb's trie counts an iterator standing on a key as a reference: a delete drops one and the key
  // goes (its DELETE notified) when none is left, so deleted under an iterator it stays until
  // the iterator moves on or is finalized; the mock removed it at once
  ['delete under an iterator', [
    'init 0', 'init 1', 'tadd 1 0 stest.diff. 7', 'iinit 0 2 stest.diff.', 'set 1 i64 stest.diff.a -9223372036854775808', 'set 1 u8 stest.diff.b 1', 'inext 0 2',
    'del 0 stest.diff.a', 'get 0 stest.diff.a -1', 'disp 1 2', 'inext 0 2', 'get 0 stest.diff.a -1', 'disp 1 2', 'del 0 stest.diff.b', 'set 0 u8 stest.diff.b 2',
    'disp 1 2', 'inext 0 2', 'get 0 stest.diff.b -1', 'disp 1 2',
  ]],
  // (never more deletes than references while another iterator stands on the key: corosync
  // 3.1.7 then frees the node under it and dies at its next move, a use-after-free in qb's trie)
  ['two iterators on a deleted key, and a finalize', [
    'init 0', 'tadd 0 0 stest.diff. 7', 'sets 0 stest.diff.a sx', 'sets 0 stest.diff.b sy', 'iinit 0 1 stest.diff.', 'iinit 0 2 stest.diff.', 'inext 0 1',
    'inext 0 2', 'del 0 stest.diff.a', 'get 0 stest.diff.a -1', 'disp 0 2', 'inext 0 1', 'get 0 stest.diff.a -1', 'disp 0 2', 'inext 0 2', 'get 0 stest.diff.a -1',
    'disp 0 2', 'del 0 stest.diff.b', 'ifin 0 2', 'get 0 stest.diff.b -1', 'disp 0 2', 'inext 0 1', 'ifin 0 1', 'get 0 stest.diff.b -1', 'disp 0 2',
  ]],
  // the stats map's map_is_key_ro is "everything but stats.clear.": CS_ERR_ACCESS for those
  // (the mock said CS_ERR_NOT_SUPPORTED to inc and delete); a stats.clear.<name>... SET is
  // accepted by its first bytes
  ['stats map writes', [
    'init 0', 'initmap 0 1', 'inc 0 stest.diff.b', 'dec 0 stest.diff.b', 'del 0 stest.diff.b', 'set 0 u8 stest.diff.b 1', 'setraw 0 6 sstats.clear.ipcx x01000000',
    'setraw 0 6 sstats.clear.other x01000000', 'del 0 sstats.clear.all', 'inc 0 sstats.clear.all', 'setraw 0 11 sstats.clear.ipc r41:16385',
  ]],
  // icmap_adjust_int_r leaves a value of a type it does not know as it is and says CS_OK (its
  // switch has no default); the mock said CS_ERR_INVALID_PARAM
  ['inc and dec of a type cmap does not know', [
    'init 0', 'tadd 0 0 stest.diff. 7', 'setraw 0 -1 stest.diff.b x', 'inc 0 stest.diff.b', 'dec 0 stest.diff.b', 'setraw 0 0 stest.diff.a x', 'inc 0 stest.diff.a',
    'get 0 stest.diff.b -1', 'disp 0 2',
  ]],
  // stats_map_track_add takes any flags (icmap_track_add refuses unknown ones); a PREFIX track
  // needs ADD and DELETE
  ['stats map track flags', ['init 0', 'initmap 0 1', 'tadd 0 0 st 16', 'tadd 0 1 stest.diff. 0', 'tadd 0 2 x -1', 'tadd 0 0 stest.diff. 8', 'tadd 0 0 stest.diff. 11', 'tadd 0 0 x 15', 'tdel 0 1']],
];

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`differential cmap: libcmap on corosync-mock vs on corosync 3.1.7 (${transport})`, () => {
    let both: RealAndMock;
    let real: LineDriver;
    let mock: LineDriver;
    let cmapSequence: (maxLength?: number) => fc.Arbitrary<string[]>;

    beforeAll(async () => {
      // Imported by path: the generator is the client package's test file, outside this package.
      ({ cmapSequence } = (await import(pathToFileURL(fileURLToPath(new URL('diff-cmap-gen.ts', CLIENT_TEST))).href)) as {
        cmapSequence: typeof cmapSequence;
      });
      const bin = await compileC(readFileSync(new URL('cref/diff-cmap.c', CLIENT_TEST), 'utf8'), ['cmap', 'quorum', 'votequorum'], { includeDir: fileURLToPath(new URL('cref/', CLIENT_TEST)) });
      both = await startRealAndMock({ real: `tk-diffcmap-real-${transport}`, mock: `tk-diffcmap-mock-${transport}` }, oneNodeConf('diffcmap', transport));
      real = new LineDriver('corosync 3.1.7', spawnDriver(both.real, [bin]));
      mock = new LineDriver('corosync-mock', spawnDriver(both.mockNs, [bin]));
    }, 180_000);

    afterAll(async () => {
      await real?.close();
      await mock?.close();
      await stopRealAndMock(both ?? {});
    }, 60_000);

    const compare = async (commands: string[]) => {
      // both sides done before a failure ends the run: see settled()
      const [rl, ml] = await settled<[string[], string[]]>([real.run(['reset', ...commands, 'reset']), mock.run(['reset', ...commands, 'reset'])]);
      if (JSON.stringify(rl) !== JSON.stringify(ml)) {
        throw new Error(`${describeDifference(commands, { name: 'corosync 3.1.7', lines: rl }, { name: 'corosync-mock', lines: ml })}\n${both.mock.log()}`);
      }
    };

    for (const [name, commands] of REGRESSIONS) it(`regression: ${name}`, () => compare(commands));

    it('generated sequences print the same lines on both', async () => {
      const { numRuns, skip } = sequenceShare(RUNS);
      await fc.assert(fc.asyncProperty(cmapSequence(), async (commands) => {
        if (!skip()) await compare(commands);
      }), { numRuns, ...(SEED !== undefined ? { seed: SEED } : {}) });
    }, PROPERTY_MS);
  });
}
