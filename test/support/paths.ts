import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The project root (tests run compiled from dist/test/...). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const EXAMPLES = join(PROJECT_ROOT, 'examples');
export const BIN = join(PROJECT_ROOT, 'bin', 'meshbridge');
