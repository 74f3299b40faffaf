import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);
const demo = fileURLToPath(new URL('../demo.mjs', import.meta.url));

test('the demo shows quorum lost and regained, with every node reporting', async () => {
  const { stdout } = await run(process.execPath, [demo, '--fast'], { timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
  const lines = stdout.split('\n');
  const section = (title: string) => {
    const start = lines.findIndex((l) => l.includes(title));
    expect(start, `section "${title}"`).toBeGreaterThan(-1);
    const end = lines.findIndex((l, i) => i > start && l.startsWith('──'));
    return lines.slice(start, end === -1 ? undefined : end).join('\n');
  };
  expect(lines.slice(0, 8).join('\n')).toMatch(/node 1: quorate\s+members \[1,2,3\]\s+votes 3\/3, quorum 2/);
  const one = section('node 3 fails');
  expect(one).toMatch(/node 3: corosync gone \(CS_ERR_LIBRARY\)/);
  expect(one).toMatch(/node 1: quorate\s+members \[1,2\]/);
  const two = section('node 2 fails too');
  expect(two).toMatch(/node 1: NOT quorate\s+members \[1\]\s+votes 1\/3, quorum 2/);
  const back = section('node 2 comes back');
  expect(back).toMatch(/node 1: quorate\s+members \[1,2\]/);
  expect(back).toMatch(/node 2: corosync back/);
  const all = section('node 3 comes back');
  expect(all).toMatch(/node 3: quorate\s+members \[1,2,3\]/);
  expect(stdout).toMatch(/done\s*$/);
}, 90_000);
