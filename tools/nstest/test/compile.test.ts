import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC } from '../src/index.js';
import { haveProgram, runOk } from '../src/proc.js';

// compileC with local headers: gcc compiles a copy of the source in the cache, so the header
// directory is passed in, and the cache key must follow the headers' contents or an edited header
// would keep running the binary built from the old one.
const gcc = haveProgram('gcc');
let dir: string;
let savedCache: string | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nstest-compile-'));
  savedCache = process.env.COROSYNC_TS_NSTEST_CACHE;
  process.env.COROSYNC_TS_NSTEST_CACHE = join(dir, 'cache');
});

afterAll(() => {
  if (savedCache === undefined) delete process.env.COROSYNC_TS_NSTEST_CACHE;
  else process.env.COROSYNC_TS_NSTEST_CACHE = savedCache;
  rmSync(dir, { recursive: true, force: true });
});

it.skipIf(!gcc)('compileC finds #include "x.h" in includeDir, and an edited header (or one it includes) builds a new binary', async () => {
  const src = '#include <stdio.h>\n#include "outer.h"\nint main(void) { printf("%d\\n", VALUE); return 0; }\n';
  writeFileSync(join(dir, 'outer.h'), '#include "inner.h"\n#define VALUE (INNER + 1)\n');
  writeFileSync(join(dir, 'inner.h'), '#define INNER 1\n');
  const first = await compileC(src, [], { includeDir: dir });
  expect((await runOk([first])).trim()).toBe('2');
  expect(await compileC(src, [], { includeDir: dir })).toBe(first);

  writeFileSync(join(dir, 'inner.h'), '#define INNER 41\n');
  const second = await compileC(src, [], { includeDir: dir });
  expect(second).not.toBe(first);
  expect((await runOk([second])).trim()).toBe('42');

  // without the directory the header is not found
  await expect(compileC(src, [])).rejects.toThrow(/outer\.h/);
});
