require('./isolation.cjs')('jest-a')
