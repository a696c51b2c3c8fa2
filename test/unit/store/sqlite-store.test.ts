import { sqliteHarness } from './sqlite-harness.js';
import { storeContract } from './store-contract.js';

storeContract('SqliteStore', () => sqliteHarness());
// Tiny chunks: every turn's writes are split over several transactions and turns.
storeContract('SqliteStore with 3-operation chunks', () => sqliteHarness({ chunkLimits: { opsMax: 3, bytesMax: 64 } }));

// The broker's store checkpoints the WAL in a worker thread (checkpointer.ts): the same contract holds.
storeContract('SqliteStore with the checkpoint worker', () => sqliteHarness({ checkpointOffLoop: true }));
