/** Jest runs the same helpers: services and templates once, a data layer per file. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/jest/**/*.test.cjs'],
  globalSetup: '<rootDir>/jest/global-setup.cjs',
  globalTeardown: '<rootDir>/jest/global-teardown.cjs',
  maxWorkers: 2,
  testTimeout: 60000,
}
