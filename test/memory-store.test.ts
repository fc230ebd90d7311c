import { MemoryWebhookStore } from '../src/index.js'
import { describeStoreContract } from './support/store-contract.js'

describeStoreContract('MemoryWebhookStore', async () => ({ store: new MemoryWebhookStore(), cleanup: async () => {} }))
