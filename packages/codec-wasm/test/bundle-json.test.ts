import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as source from '../src/catalog.js';

// The published bundle writes the catalog's data as JSON.parse('...') (package.json "bundle".json,
// scripts/bundle.mjs): cheaper to load than the literal. It must be the very same data, and the
// catalog object must still hold the exported arrays themselves. dist/ is what `pnpm build` wrote.
const distUrl = new URL('../dist/index.js', import.meta.url);

describe('bundled catalog', () => {
  it('is JSON.parse of the same data, with the same identities', async () => {
    expect(readFileSync(distUrl, 'utf8')).toMatch(/\bmessages = \/\* @__PURE__ \*\/ JSON\.parse\('/);
    const dist = (await import(distUrl.href)) as typeof import('../src/index.js');
    expect(dist.messages).toStrictEqual(source.messages);
    expect(dist.REQUEST_HEADER).toStrictEqual(source.REQUEST_HEADER);
    expect(dist.RESPONSE_HEADER).toStrictEqual(source.RESPONSE_HEADER);
    expect(dist.catalog).toStrictEqual(source.catalog);
    expect(dist.catalog.messages).toBe(dist.messages);
    expect(dist.catalog.requestHeader).toBe(dist.REQUEST_HEADER);
    expect(dist.catalog.responseHeader).toBe(dist.RESPONSE_HEADER);
  });
});
