// The README's shell example runs against a real corosync (inside a private namespace) and
// records decodable captures; its API example typechecks (tsc includes this directory).
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { analyse, CLI, readCapture, tempDir } from './helpers.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = (lang: string) => [...README.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

test('the README has the shell example and the API example', () => {
  expect(blocks('sh')).toHaveLength(1);
  expect(blocks('ts')).toHaveLength(1);
});

describeReal('README example against real corosync', () => {
  let ns: Namespace;
  const dir = tempDir();
  beforeAll(async () => {
    ns = await startNamespace({ name: 'tap-readme' });
    await ns.startCorosync({ transport: 'native' });
    // `corosync-tap` on PATH, as the package's bin would be.
    writeFileSync(join(dir, 'corosync-tap'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    chmodSync(join(dir, 'corosync-tap'), 0o755);
  }, 120_000);
  afterAll(async () => {
    await ns?.close();
  }, 60_000);

  test('runs, and both captures decode completely', async () => {
    const r = await ns.exec(['sh', '-ec', `cd '${dir}'\n${blocks('sh')[0]!}`], { env: { PATH: `${dir}:${process.env.PATH}` }, timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Quorum information/);
    expect(r.stdout).toMatch(/totem\.cluster_name \(str\) = nstest/);
    for (const f of ['quorumtool.jsonl', 'session.jsonl.gz']) {
      const { header, lines } = readCapture(join(dir, f));
      expect(header).toMatchObject({ corosyncCapture: 1, recorder: { mode: 'tap' } });
      const a = analyse(lines);
      expect(a.undecoded).toEqual([]);
      expect(a.frames).toBeGreaterThan(4);
    }
  }, 60_000);
});

test('the API example in test/readme-api.ts is the README one', () => {
  const body = readFileSync(new URL('./readme-api.ts', import.meta.url), 'utf8');
  const code = blocks('ts')[0]!.split('\n').filter((l) => l !== '' && !l.startsWith('import '));
  for (const line of code) expect(body).toContain(line.trim());
});
