/**
 * Worker thread of parallel-load.ts: loads (parses, validates, decodes) the files it is given, each
 * on its own as the folder source does, and posts the results back in the same order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from '../../model/config/load.js';
import type { SourceFile } from './parallel-load.js';

const files = workerData as readonly SourceFile[];
parentPort?.postMessage(files.map((f) => loadConfig([f])));
