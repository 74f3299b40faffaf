export * from './core.js';
export { describeReal } from './describe.js';
