import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@corosync-ts/ipc';
import { decode, encoders } from '@corosync-ts/codec-wasm';
import { run } from '@corosync-ts/nstest';
import { describe, expect, test } from 'vitest';
import { useMockCorosync } from '../src/vitest.js';
// @ts-expect-error: a plain-JS script of the repository, no declarations
import { codeBlocks, root } from '../../../scripts/readme-blocks.mjs';

// The README's code blocks themselves (extracted, not copied), run against this checkout's build.
test('every code block of the README runs as written', async () => {
  const pkg = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(pkg, '.readme-'));
  try {
    // Blocks that also use @corosync-ts/client (not a dependency of this package) run in
    // scripts/consumer-test.mjs, with every README block, from the packed packages.
    const blocks = (codeBlocks('packages/testkit/README.md') as { name: string; line: number; lang: string; code: string; usesVitest: boolean }[])
      .filter((b) => !b.code.includes('@corosync-ts/client'));
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    for (const b of blocks) {
      const file = join(dir, `${b.name}${b.usesVitest ? '.test' : ''}.${b.lang === 'ts' ? 'ts' : 'mjs'}`);
      writeFileSync(file, b.code);
      const argv = b.usesVitest ? [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', dir, file] : ['--import', 'tsx', file];
      const r = await run([process.execPath, ...argv], { cwd: pkg, timeout: 90_000 });
      expect({ block: `README.md:${b.line}`, status: r.code, stderr: b.usesVitest ? '' : r.stderr }).toEqual({ block: `README.md:${b.line}`, status: 0, stderr: '' });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

describe('useMockCorosync', () => {
  const mock = useMockCorosync({ nodes: 2, quorum: { twoNode: true } });
  test('gives each test a running mock', async () => {
    mock.current.cluster.node(2).kill();
    await mock.current.settle();
    const c = await connect(mock.current.endpoint().names.votequorum);
    const info = decode(await c.request(encoders.votequorum.req.getinfo({ nodeid: 0 })), { service: 'votequorum', dir: 'res' });
    expect(info.fields).toMatchObject({ quorum: 1, flags: expect.any(Number) });
    expect((info.fields as { flags: number }).flags & 3).toBe(3); // TWONODE | QUORATE
    await c.close();
  });
  test('and a fresh one for the next', () => {
    expect(mock.current.cluster.node(2).running).toBe(true);
  });
});
