import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The JSON report is what .ci/run counts; the default reporter is for people.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    testTimeout: 20_000,
    hookTimeout: 30_000,
    typecheck: { enabled: false },
    globalSetup: ['test/support/postgres-setup.ts'],
  },
})
