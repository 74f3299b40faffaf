// One lint configuration for the workspace; each package runs `eslint .` from its own folder.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/build/**', '**/generated/**', '**/node_modules/**', '**/.turbo/**', 'packages/*/native/**',
      // AssemblyScript: decorators on functions and its built-ins are not TypeScript; asc checks it
      'packages/codec-wasm/assembly/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_`-prefixed names mark deliberately unused parameters
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // empty catch blocks are how best-effort cleanup says "ignore"; each has a comment or is cleanup
      'no-empty': ['error', { allowEmptyCatch: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    // tests and benchmarks poke at decoded frames and raw protocol values loosely on purpose
    files: ['**/test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
