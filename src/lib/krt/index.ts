export { type Collection, type CollectionStats, type Event, type Handler, type Index, BaseCollection } from './collection.js';
export { StaticCollection } from './static-collection.js';
export { DerivedCollection, type Context, type FetchOptions, type Singleton, derive, deriveMany, singleton } from './derived-collection.js';
export { JoinCollection } from './join-collection.js';
export { LayeredCollection } from './layered-collection.js';
export { deepEqual } from './equal.js';
