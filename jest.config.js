// Jest runs the TypeScript sources directly (swc, ES modules); workspace packages
// resolve to their src/ so unit tests need no build. e2e tests run the built bins.
/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@ur/protocol/wire$': '<rootDir>/packages/protocol/src/wire.ts',
    '^@ur/(protocol|amqp|runtime|testkit|agent|headnode|cli)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: [
    '<rootDir>/packages/*/test/**/*.test.ts',
    '<rootDir>/scripts/bench/test/**/*.test.ts',
    '<rootDir>/test-e2e/**/*.test.ts',
  ],
  globalSetup: '<rootDir>/packages/testkit/src/jest-global-setup.ts',
  globalTeardown: '<rootDir>/packages/testkit/src/jest-global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
