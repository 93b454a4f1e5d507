import { globalSetup } from 'stratum-data/testing'
import { notes } from '../src/index.js'

// Real Postgres, Redis and S3 when they can be found or started, else the embedded
// defaults; the template with the core and the notes migrations is made once for all workers.
export default globalSetup({ templates: [{ extensions: [notes()] }] })
