import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The plumb checkout (or installed package) this code runs from. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
