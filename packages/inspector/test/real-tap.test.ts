// The round trip: corosync-tap records the stock tools (corosync-cmapctl, corosync-quorumtool,
// corosync-cfgtool) against a real corosync 3.1.7 in a private namespace, over both libqb
// transports, and the inspector in headless Chromium opens that capture: every frame decoded,
// every request answered, and a handshake corosync refused (a uid it does not allow) shown on
// the timeline. INSPECTOR_SCREENSHOTS=DIR also writes the README's tap screenshot there.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeReal, runOk, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = process.env.COROSYNC_TS_CHROMIUM ?? '/usr/bin/chromium';
const PKG = fileURLToPath(new URL('..', import.meta.url));
const PAGE = join(PKG, 'dist/index.html');
const TAP = fileURLToPath(new URL('../../tap/dist/cli.js', import.meta.url));
const SHOTS = process.env.INSPECTOR_SCREENSHOTS;
const ci = process.env.CI === 'true';

type W = { __inspector: { probe: { ready: boolean; error?: string }; state: { cap: any; rows: Int32Array }; timeline: { markPosition(k: number): { x: number; y: number } | null } } };

const TOOLS = 'corosync-cmapctl -g totem.cluster_name; corosync-cmapctl -m stats stats.ipcs >/dev/null; corosync-quorumtool -s; corosync-cfgtool -s; setpriv --reuid=65534 --regid=65534 --clear-groups corosync-cmapctl -g totem.cluster_name; true';

describeReal('the inspector on a corosync-tap capture of the stock tools, real corosync 3.1.7', () => {
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'inspector-tap-'));

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      if (ci) throw new Error(`CI=true and ${CHROMIUM} is missing: install the apt package chromium`);
      return;
    }
    if (!existsSync(TAP)) throw new Error(`${TAP} is missing: pnpm --filter @corosync-ts/inspector... build`);
    await runOk([process.execPath, join(PKG, 'scripts/build.mjs')], { timeout: 100_000 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const transport of ['shm', 'socket'] as const) {
    describe(`qb_ipc_type ${transport}`, () => {
      let ns: Namespace;
      beforeAll(async () => {
        ns = await startNamespace({ name: `insp-tap-${transport}` });
        await ns.startCorosync({ transport });
      }, 120_000);
      afterAll(async () => {
        await ns?.close();
      }, 60_000);

      it('records the tools through the tap; the inspector decodes every frame, pairs every request and shows the refusal', async (ctx) => {
        if (!browser) return ctx.skip();
        const capture = join(dir, `tools-${transport}.jsonl.gz`);
        const r = await ns.exec([process.execPath, TAP, '-q', '-o', capture, '--', 'sh', '-c', TOOLS], { timeout: 120_000 });
        expect(r.stdout).toMatch(/totem\.cluster_name \(str\) = nstest/);
        expect(r.stdout).toMatch(/Quorum provider:\s+corosync_votequorum/);
        expect(r.stdout).toMatch(/Local node ID 1/);
        expect(r.stderr).toMatch(/CS_ERR_ACCESS/);

        const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(pathToFileURL(PAGE).href);
        await page.setInputFiles('#file', capture);
        await page.waitForFunction(() => (window as unknown as W).__inspector.probe.ready || (window as unknown as W).__inspector.probe.error, undefined, { timeout: 60_000 });
        expect(errors).toEqual([]);
        const s = await page.evaluate(() => {
          const { state } = (window as unknown as W).__inspector;
          const c = state.cap;
          const undecoded: string[] = [];
          const unpaired: number[] = [];
          for (let i = 0; i < c.count; i++) {
            if (c.msg[i] < 0) undecoded.push(`#${i} ${c.services[c.svc[i]]} ${c.dir[i]}`);
            const request = (c.dir[i] === 0 && c.id[i] !== -3) || (c.dir[i] === 3 && c.len[i] <= 24);
            if (request && c.pair[i] < 0) unpaired.push(i);
          }
          const conns = [...c.conns.values()] as { service: string; proc?: string; refused?: string }[];
          return {
            recorder: c.header.recorder.mode, count: c.count, undecoded, unpaired, services: [...new Set(conns.map((x) => x.service))].sort(),
            refused: conns.filter((x) => x.refused !== undefined).map((x) => `${x.service} ${x.proc} ${x.refused}`),
            marks: c.marks.map((m: { kind: string }) => m.kind),
          };
        });
        expect(s.recorder).toBe('tap');
        expect(s.count).toBeGreaterThan(50);
        expect(s.undecoded).toEqual([]);
        expect(s.unpaired).toEqual([]);
        expect(s.services).toEqual(['cfg', 'cmap', 'quorum', 'votequorum']);
        expect(s.refused).toEqual(['cmap corosync-cmapct corosync refused the connection (EACCES)']);
        expect(await page.locator('#status').innerText()).toMatch(/1 refused at the handshake/);
        // The refusal is a mark on its own lane; clicking it says what happened.
        const k = s.marks.indexOf('refused');
        const pos = await page.evaluate((k) => (window as unknown as W).__inspector.timeline.markPosition(k), k);
        expect(pos).not.toBeNull();
        const box = (await page.locator('#timeline').boundingBox())!;
        await page.mouse.click(box.x + pos!.x, box.y + pos!.y);
        await expect.poll(() => page.locator('#d-title').innerText()).toMatch(/corosync-cmapct.*handshake refused by the server: corosync refused the connection \(EACCES\)/);
        if (SHOTS && transport === 'shm') {
          // The table is virtualised: scroll to the first quorum request, then select it.
          await page.evaluate(() => {
            const { state } = (window as unknown as W).__inspector;
            const c = state.cap;
            let r = 0;
            while (r < state.rows.length && !(c.services[c.svc[state.rows[r]!]] === 'quorum' && c.dir[state.rows[r]!] === 0)) r++;
            document.getElementById('scroller')!.scrollTop = Math.max(0, (r - 3) * 22);
          });
          await page.locator('#rows .row', { hasText: 'quorum.' }).first().click();
          await page.screenshot({ path: join(SHOTS, 'tap-tools.png') });
        }
        await page.close();
      });
    });
  }
});
