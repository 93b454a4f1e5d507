import { globalSetup } from 'stratum-data/testing'

export default globalSetup({ templates: [{ embeddings: { dimensions: 384 } }] })
