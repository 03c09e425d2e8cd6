import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { BASE_PATH, boundaryZones } from './eslint.boundaries.js';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', '.build/**', 'cdk8s/dist/**', 'test-artifacts/**', 'reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The import layers (docs/architecture.md). Tests and their support files (test-*.ts, testing/,
  // test/: none of it reaches the image) may reach across layers to set things up.
  {
    files: ['**/*.ts'],
    ignores: ['**/*.test.ts', '**/test-*.ts', 'test/**', '**/testing/**'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js'] })],
      // Without these, no-cycle skips every .ts dependency as "not a module it can parse".
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/external-module-folders': ['node_modules'],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: boundaryZones, basePath: BASE_PATH }],
      // Cycles of value imports (import-x never counts `import type`: erased at run time).
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
);
