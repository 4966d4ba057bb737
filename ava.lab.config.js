// The lab tests: they share one lab of real hosts and a private Tor
// network, and some rebuild or stop hosts, so they run one file at a time.
export default {
  extensions: { ts: 'module' },
  files: ['test/**/*.lab.test.ts', 'test/lab/lab.test.ts'],
  workerThreads: false,
  nodeArguments: ['--import=tsx', '--import=./test/support/suite-guard.ts'],
  timeout: '10m',
  concurrency: 1,
};
