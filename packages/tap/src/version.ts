import { readFileSync } from 'node:fs';

/** This package's version, as the capture header and --version report it. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
