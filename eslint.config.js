import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'coverage/**',
      '.ur-demo/**',
      'packages/protocol/src/generated/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [importX.createNodeResolver()] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
      'import-x/no-relative-packages': 'error',
      // Packages talk to each other only through their public entry point.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@ur/*/*', '!@ur/protocol/wire'],
              message: 'Import a workspace package by its name only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/agent/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@ur/headnode', '@ur/cli', '@ur/*/*', '!@ur/protocol/wire'],
              message: 'The agent depends only on protocol and amqp.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/headnode/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@ur/agent', '@ur/cli', '@ur/*/*', '!@ur/protocol/wire'],
              message: 'The headnode depends only on protocol and amqp.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/cli/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@ur/agent', '@ur/headnode', '@ur/amqp', '@ur/*/*', '!@ur/protocol/wire'],
              message: 'The CLI talks HTTP only; it depends on protocol.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/protocol/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['@ur/*'], message: 'protocol is the bottom package.' }],
          paths: ['amqplib', 'node:fs', 'node:net', 'node:child_process', 'node:http'].map((name) => ({
            name,
            message: 'protocol does no I/O.',
          })),
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
