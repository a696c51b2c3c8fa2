import { MemoryStore } from '../../../src/store/memory-store.js';
import type { Store } from '../../../src/store/store.js';
import { storeContract } from './store-contract.js';

storeContract('MemoryStore', () => ({
  open: () => new MemoryStore(),
  // A restart over the memory store reuses the instance (see memory-store.ts header).
  reopen: (store: Store) => {
    store.close();
    return store;
  },
  bodyCount: (store: Store) => (store as MemoryStore).bodyCount(),
  cleanup: () => {},
}));
