import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Peer tests start real processes and libp2p nodes; two cores cannot run many at once.
    maxWorkers: 2,
    fileParallelism: true
  }
});
