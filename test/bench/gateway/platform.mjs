// The benchmarks' platform helpers moved to ../lib/platform.mjs (shared by every benchmark).
export * from '../lib/platform.mjs';
