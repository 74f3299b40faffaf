// Issue 13: what an extra handle costs. A shm handle maps three rings of ~1 MiB each (the data
// twice), exposed to JS as ArrayBuffers: Node's `external` reports their length, ~6.3 MB per
// handle. The mappings are tmpfs pages shared with the server: only what is touched belongs to
// us, and shows in RSS. Measured over 100 handles, in a fresh process, with the server in another one.
// Generous bounds: this is a leak test, not a measurement.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from './helpers.js';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));

for (const transport of ['shm', 'socket'] as const) {
  describe(`${transport}: memory per handle`, () => {
    let server: ChildProcess;
    const name = uniqueName('mem');
    beforeAll(async () => {
      server = spawn(process.execPath, [fixture('echo-server.mjs'), transport, name], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, QUIET: '1' } });
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: server.stdout! }).on('line', (l) => {
          if ((JSON.parse(l) as { event?: string }).event === 'listening') resolve();
        });
        server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
      });
    });
    afterAll(async () => {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    });

    it('an extra handle in use costs under 300 kB of RSS', async () => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', fixture('memory-client.mjs'), name, '100'], { timeout: 120_000 });
      const r = JSON.parse(stdout.trim()) as { transport: string; external: number; arrayBuffers: number; rss: number };
      expect(r.transport).toBe(transport);
      expect(r.rss).toBeLessThan(300_000);
      // The ring mappings show in `external` (Node reports every ArrayBuffer's length): bounded
      // by the three rings, nothing more per handle.
      expect(r.external).toBeLessThan(transport === 'shm' ? 6_500_000 : 50_000);
      // Buffers JS allocates itself (not the mappings) are shared or made when first needed: a
      // handle that never took an event holds no event batch table (8 kB) and no doorbell
      // scratch (4 kB) of its own. Exact after a full GC: Node counts every live ArrayBuffer.
      expect(r.arrayBuffers).toBeLessThan(1024);
    });
  });
}
