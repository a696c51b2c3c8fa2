// ESLint (flat config) with typescript-eslint: the TypeScript rules the code base already follows.
// src/ is linted with type information (tsconfig.json through the project service), so rules such
// as no-floating-promises and no-misused-promises run there; test/ has no tsconfig, so it gets the
// rules that need no types. The generated method table is data and is not linted.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Rules on top of the recommended sets, for src/ and test/ alike. */
const shared = {
  // `import type` for type-only imports: the layer check (test/unit/tidy.test.ts) tells a type
  // import from a runtime one by this marker.
  '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
  '@typescript-eslint/no-explicit-any': 'error',
  '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
  eqeqeq: ['error', 'always'],
};

/** What the web UI's modules use from the browser. */
const BROWSER_GLOBALS = ['window', 'document', 'location', 'sessionStorage', 'fetch', 'btoa', 'TextEncoder', 'URL', 'URLSearchParams'];
BROWSER_GLOBALS.push('Blob', 'Node', 'confirm', 'setTimeout', 'clearTimeout', 'console');
const NO_MARKUP = 'build the DOM with dom.js h() or textContent';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'src/codec/methods.generated.ts'] },
  {
    files: ['src/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      ...shared,
      '@typescript-eslint/consistent-type-exports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      // The broker logs through pino (src/log); the CLI prints through its own helpers.
      'no-console': 'error',
    },
  },
  {
    // The web UI: plain ES modules run by the browser. Markup is never built from strings, so
    // user input (queue names, payloads) cannot become HTML: innerHTML and its kin are banned.
    files: ['src/management/ui/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'module', globals: Object.fromEntries(BROWSER_GLOBALS.map((g) => [g, 'readonly'])) },
    rules: {
      eqeqeq: ['error', 'always'],
      'max-len': ['error', { code: 140 }],
      'no-restricted-properties': ['error', { property: 'innerHTML', message: NO_MARKUP }, { property: 'outerHTML', message: NO_MARKUP }],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.property.name=/^(insertAdjacentHTML|write|writeln|createContextualFragment)$/]',
          message: NO_MARKUP,
        },
        { selector: "CallExpression[callee.name='eval'], NewExpression[callee.name='Function']", message: 'no code from strings' },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: shared,
  },
);
