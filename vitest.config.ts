import { defineConfig } from 'vitest/config';

// Tests run in forked processes: native addons (isolated-vm, onnxruntime-node, webgpu) are not
// safe to share across worker threads, and a crash in one file must not take down the others.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
