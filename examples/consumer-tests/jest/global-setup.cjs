// Jest's global setup: the same helpers as Vitest's, through the CommonJS build.
module.exports = require('stratum-data/testing').globalSetup()
