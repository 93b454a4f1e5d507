module.exports = require('stratum-data/testing').globalTeardown
