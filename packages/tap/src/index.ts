export { startTap, Tap, TapError, DEFAULT_SERVICES } from './tap.js';
export type { TapOptions } from './tap.js';
export { VERSION } from './version.js';
