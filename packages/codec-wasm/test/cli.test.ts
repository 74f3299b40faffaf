import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { run as runChild } from '@corosync-ts/nstest';
import { afterAll, describe, expect, it } from 'vitest';
import { cases } from './cases.js';
import { Frame, hex } from './helpers.js';

// Spawns the real bin (bin/corosync-decode.mjs -> dist/cli.js): run the package build first.
const BIN = fileURLToPath(new URL('../bin/corosync-decode.mjs', import.meta.url));
const run = (args: string[], input?: string) => runChild([process.execPath, BIN, ...args], { input, timeout: 30_000 });

const dir = mkdtempSync(join(tmpdir(), 'codec-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('corosync-decode', () => {
  it('decodes JSON Lines from stdin, one object per line', async () => {
    const lines = cases.map((c) => JSON.stringify({ service: c.service === 'qb' ? undefined : c.service, dir: c.dir, hex: hex(c.bytes) }));
    const r = await run([], `${lines.join('\n')}\n`);
    expect(r.code).toBe(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.length).toBe(cases.length);
    out.forEach((o, i) => {
      expect(o.name).toBe(cases[i]!.name);
      expect(o.size).toBe(cases[i]!.bytes.length);
    });
    const v0 = out[cases.findIndex((c) => c.name === 'quorum.notification')];
    expect(v0).toEqual({ name: 'quorum.notification', id: 3, size: 52, error: 1, fields: { quorate: 1, ringSeq: '15', viewListEntries: 1, viewList: [1] } });
    const set = out[cases.findIndex((c) => c.name === 'cmap.set' && c.dir === 'req')];
    expect(set.fields).toEqual({ keyName: 'test.str', valueLen: '3', type: 11, value: '616263' });
  });

  it('reports bad lines and keeps going', async () => {
    const input = [
      'not json',
      '[1,2]',
      '{"service":"cmap","dir":"req"}',
      '{"service":"cmap","dir":"req","hex":"xyz"}',
      '{"service":"cmap","dir":"req","hex":"abc"}',
      '{"service":"evs","dir":"req","hex":"00"}',
      `{"service":"cmap","dir":"req","hex":"${hex(Frame.req(0, 300).u64(280, 9n).bytes)}"}`,
      '',
      `{"service":"cmap","dir":"res","hex":"${hex(Frame.res(0, 24, 7).bytes)}"}`,
    ].join('\n');
    const r = await run([], input);
    expect(r.code).toBe(1);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((o) => o.error?.kind ?? o.name)).toEqual([
      'badJson', 'badInput', 'badInput', 'badHex', 'badHex', 'badArgument', 'countOverrun', 'cmap.set',
    ]);
    expect(out[6].error).toMatchObject({ messageName: 'cmap.set', field: 'value', offset: 296 });
    for (const o of out.slice(0, 7)) expect(typeof o.error.message).toBe('string');
  });

  it('reads a file argument', async () => {
    const f = join(dir, 'in.jsonl');
    writeFileSync(f, `${JSON.stringify({ dir: 'setup', hex: hex(Frame.req(-1, 24).u32(16, 1048576).bytes) })}\r\n`);
    const r = await run([f]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ name: 'qb.connectionRequest', id: -1, size: 24, fields: { maxMsgSize: 1048576 } });
  });

  it('decodes one raw hex message with --service and --dir', async () => {
    const r = await run(['--service', 'cfg', '--dir', 'res', hex(Frame.res(12, 32).u32(24, 1).bytes)]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ name: 'cfg.localGet', id: 12, size: 32, error: 1, fields: { localNodeid: 1 } });
    const bad = await run(['--service=cfg', '--dir=res', '00']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).error.kind).toBe('truncated');
  });

  it('fails cleanly on usage errors and missing files', async () => {
    expect((await run(['--bogus'])).code).toBe(2);
    expect((await run(['--dir', 'res'])).code).toBe(2);
    const missing = await run([join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/ENOENT/);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: corosync-decode/);
  });

  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await run([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`corosync-decode ${version}\n`);
    }
  });

  it('a line longer than 16 MiB (a gzip bomb of zeros) is skipped unread with an error line, in bounded memory; the lines after it decode', async () => {
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    const good = JSON.stringify({ service: cases[0]!.service === 'qb' ? undefined : cases[0]!.service, dir: cases[0]!.dir, hex: hex(cases[0]!.bytes) });
    const file = join(dir, 'bomb.gz');
    writeFileSync(file, Buffer.concat([gzipSync(`${good}\n`), ...Array.from({ length: 4 }, () => member), gzipSync(`\n${good}\n`)]));
    const r = await runChild(['/usr/bin/time', '-f', 'maxrss %M', process.execPath, BIN, file], { timeout: 60_000 });
    expect(r.code).toBe(1);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((o) => o.error?.kind ?? o.name)).toEqual([cases[0]!.name, 'lineTooLong', cases[0]!.name]);
    expect(out[1].error.message).toBe(`line 2 is ${64 * 1024 * 1024} bytes long, more than 16777216 bytes: skipped`);
    expect(Number(/maxrss (\d+)/.exec(r.stderr)![1])).toBeLessThan(300_000); // KiB: not the 64 MiB line held as a string
  });

  it("prints no error for cpg's deliveries, whose header error corosync 3.1.7 leaves uninitialised (9 here); a response's 9 stays", async () => {
    const { encoders } = await import('../src/index.js');
    const deliver = hex(encoders.cpg.evt.deliverCallback({ groupName: 'g', msglen: 1, nodeid: 1, pid: 2, message: new Uint8Array(1) }, { error: 9 }));
    const bad = hex(encoders.cmap.res.error({}, { id: 2, error: 9 }));
    const r = await run([], `${JSON.stringify({ service: 'cpg', dir: 'evt', hex: deliver })}\n${JSON.stringify({ service: 'cmap', dir: 'res', hex: bad })}\n`);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out[0]).toMatchObject({ name: 'cpg.deliverCallback' });
    expect(out[0]).not.toHaveProperty('error');
    expect(out[1]).toMatchObject({ name: 'cmap.error', error: 9 });
  });

  it('stops quietly when its reader goes away (`| head -n 1`): no EPIPE stack trace, the status of what it decoded', async () => {
    const good = JSON.stringify({ service: cases[0]!.service === 'qb' ? undefined : cases[0]!.service, dir: cases[0]!.dir, hex: hex(cases[0]!.bytes) });
    const file = join(dir, 'many.jsonl');
    // far more output than a pipe holds, so the writes after head has exited fail
    writeFileSync(file, `${good}\n`.repeat(20_000));
    const r = await runChild(['bash', '-o', 'pipefail', '-c', '"$0" "$1" "$2" | head -n 1', process.execPath, BIN, file], { timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).name).toBe(cases[0]!.name);
  });

  it('survives binary garbage on stdin', async () => {
    const garbage = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256)).toString('latin1');
    const r = await run([], garbage);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    for (const l of r.stdout.trim().split('\n')) expect(JSON.parse(l).error.kind).toMatch(/badJson|badInput/);
  });
});
