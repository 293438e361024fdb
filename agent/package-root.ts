// Where the vigil package is installed: the nearest folder above this file whose package.json
// is vigil's. Works from the sources (agent/) and from the compiled tree (dist/agent/).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): { dir: string; version: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'vigil') return { dir, version: pkg.version ?? '0.0.0' };
    }
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error('failed to find vigil package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

const found = findRoot();

/** The package's root folder (holds package.json, models/, build/). */
export const PACKAGE_ROOT = found.dir;
export const PACKAGE_VERSION = found.version;
