import { isolationSuite } from './isolation.js'

isolationSuite('search')
