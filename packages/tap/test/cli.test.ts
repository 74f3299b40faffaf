// The command line without a daemon or namespaces: help, version, usage errors (exit 2).
import { readFileSync } from 'node:fs';
import { run as runChild } from '@corosync-ts/nstest';
import { expect, test } from 'vitest';
import { CLI } from './helpers.js';

const run = (...args: string[]) => runChild([process.execPath, CLI, ...args], { timeout: 60_000 });
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

test('--help prints the usage, exit codes included, and exits 0', async () => {
  const r = await run('--help');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^usage: corosync-tap -o FILE \[options\] -- PROGRAM/);
  expect(r.stdout).toMatch(/125 the tap failed/);
  expect(r.stdout).toMatch(/tap's credentials/);
});

test('--version', async () => {
  const r = await run('-V');
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`corosync-tap ${version}\n`);
});

test.each([
  [['--', 'true'], /-o FILE is required/],
  [['-o', '/tmp/x.jsonl'], /a PROGRAM after -- is required/],
  [['-o', '/tmp/x.jsonl', '--transport', 'udp', '--', 'true'], /--transport must be socket or shm/],
  [['-o', '/tmp/x.jsonl', '--bogus', '--', 'true'], /Unknown option '--bogus'/],
  [['-o', '/tmp/x.jsonl', '--handshake-timeout', '0', '--', 'true'], /--handshake-timeout needs a positive number/],
  [['-o', '/tmp/x.jsonl', '--user', 'no-such-user-xyz', '--', 'true'], /unknown user no-such-user-xyz/],
])('usage error %j → exit 2 with a message, nothing started', async (args, msg) => {
  const r = await run(...args);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(msg);
  expect(r.stderr).toMatch(/usage: corosync-tap/);
});
