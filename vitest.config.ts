import { defineConfig } from 'vitest/config';

export default defineConfig({
  define: { __ALBERT_WASM_PATH__: JSON.stringify('../../dist/albert.wasm') },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
