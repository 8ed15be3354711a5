// ESLint (flat config): typescript-eslint with type information for no-floating-promises, and the layering rules
// of STYLE.md — no Node builtins or I/O libraries in core/ and workflows/, no value imports of activities in workflows.
const tseslint = require('typescript-eslint');

const ioModules = ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'child_process', 'os', '@clickhouse/client', 'ioredis', 'fastify', 'nodemailer', '@slack/web-api', '@temporalio/client', '@temporalio/worker'];

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.local/**', 'coverage/**', 'eslint.config.js', 'jest.config.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['core/**/*.ts', 'workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ioModules.map((group) => ({ group: [group], message: 'core/ and workflows/ stay free of I/O (STYLE.md)' })) }],
      'no-restricted-globals': ['error', { name: 'process', message: 'tunables come in as inputs, never from process.env' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...ioModules.map((group) => ({ group: [group], message: 'workflows stay deterministic and free of I/O' })),
            { group: ['../activities', '../activities/*'], allowTypeImports: true, message: 'import activities as types only' },
          ],
        },
      ],
    },
  },
);
