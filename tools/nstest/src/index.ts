export * from './core.js';
export { describeReal, describeRequiring, describeWithPrograms, haveProgram, isCI } from './describe.js';
