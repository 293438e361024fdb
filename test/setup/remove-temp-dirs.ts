// Runs in every test file (vitest.config.ts setupFiles): the file's temp dirs (helpers/temp-dir.ts)
// are removed once its tests are done.
import { afterAll } from 'vitest';
import { removeTempDirs } from '../helpers/temp-dir.js';

afterAll(removeTempDirs);
