// ESLint for the TypeScript and the scripts (`npm run lint`; `npm test` runs it before the tests).
// Formatting belongs to Prettier: eslint-config-prettier turns off every rule that overlaps it.
// Plain `recommended`, not the type-aware set: that one needs a program over every test and script
// (none is in a tsconfig), took 25 s and 1.8 GB here, and flags mostly the tests' JSON answers.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Generated, built, installed or recorded: not written here by hand.
    ignores: [
      '**/node_modules/',
      '**/dist/',
      '**/generated/',
      'rust-subgraphs/target/',
      '.data/',
      'test/bench/results/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_name` says "deliberately unused" (an argument kept for its position, a field left out of
      // a rest copy); anything else unused is a finding.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['**/test/**/*.ts', 'packages/test-support/src/**/*.ts'],
    rules: {
      // Tests read GraphQL answers and decoded rows as JSON whose shape their assertions check.
      '@typescript-eslint/no-explicit-any': 'off',
      // What tests share comes from @coursegraph/test-support, never by climbing out of the package.
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../../../*'], message: 'Import shared test code from @coursegraph/test-support.' }] },
      ],
    },
  },
  prettier,
);
