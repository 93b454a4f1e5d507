require('./isolation.cjs')('jest-b')
