import { defineConfig } from 'vitest/config';

/**
 * The kernel and scenario tests drive the emulated kernel in this process and nothing else: they
 * share one module graph per worker (isolate: false), which halves their time (40 files: 45 s ->
 * 23 s), as loading the kernel model per file is most of what a small test costs. Every other test
 * file (CLI processes, SQLite files, module hooks, mocks) keeps a fresh module graph of its own.
 */
const KERNEL = ['test/kernel-*.test.ts', 'test/scenario-*.test.ts'];
const EXCLUDE = ['dist/**', 'node_modules/**'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: one worker per core keeps subprocess-spawning tests from starving each other.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'kernel', include: KERNEL, exclude: EXCLUDE, isolate: false } },
      { extends: true, test: { name: 'tools', include: ['test/**/*.test.ts', 'test/**/*.test.tsx'], exclude: [...EXCLUDE, ...KERNEL] } },
    ],
  },
});
