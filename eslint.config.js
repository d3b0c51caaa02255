// ESLint flat config. `npm run lint` runs it; test/package/lint.test.ts runs it inside `npm test`.
// Formatting is prettier's job (`npm run format`), so no stylistic rules here.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The React Compiler's rules (eslint-plugin-react-hooks 7), every one an error: a bail-out is a bug to fix. */
const reactHooksRules = Object.fromEntries(Object.keys(reactHooks.configs.flat.recommended.rules).map((rule) => [rule, 'error']));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'build/', 'storybook-static/', 'coverage/', 'test-results/', 'bench/out/', 'etc/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,js,mjs}'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.browser, ...globals.node },
    },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooksRules,
      // `_name` marks a parameter that is required by a signature but not used.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Type-only imports stay type-only (verbatimModuleSyntax needs it; this catches a mixed import early).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // Every entry other than the core uses the core through its public entry, as an app does. The build keeps
    // 'tabauth' external, so dist/react.js and dist/react.d.ts import it instead of carrying a second copy of it.
    files: ['src/**/*.{ts,tsx}'],
    ignores: ['src/core/**', 'src/devtools/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(\\.\\./)+core(/|$)', message: "Import the core as 'tabauth' (its public entry), not by a relative path." }] },
      ],
    },
  },
  {
    // The devtools have a core of their own (src/devtools/core): only tabauth's core is off limits there.
    files: ['src/devtools/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./\\.\\./core(/|$)|^\\.\\./\\.\\./\\.\\./core(/|$)',
              message: "Import the core as 'tabauth' (its public entry), not by a relative path.",
            },
          ],
        },
      ],
    },
  },
  {
    // The core's centre stays readable (issue 10): no function in src/core longer than about 100 lines.
    files: ['src/core/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 100, skipBlankLines: true, skipComments: true }] },
  },
  {
    // Test globals (vitest `globals: true`).
    files: ['test/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.vitest } },
  },
);
