// The simulated Astra's storage engine: `createEngine()` gives the Engine every simulated node
// shares (contract.ts). See engine.ts for the pieces.

export { createEngine, type EngineOptions } from './engine.js';
export type * from './contract.js';
export { CqlRequestError } from './contract.js';
export { murmur3Token } from './murmur3.js';
