/** Jest: unit tests (core/, time-skipping workflows) and integration tests against real servers started once per run. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }],
    // Some of ml-regression's parts ship as ES modules only (Node 20 requires them natively; jest needs them compiled).
    '^.+/node_modules/(is-any-array|ml-[^/]+)/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(is-any-array|ml-[^/]+)/)'],
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
  slowTestThreshold: 30,
};
