// The agent's version, reported in status and health messages.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// agent/version.ts (tests) and dist/agent/version.js (devices) sit at different depths below
// package.json: try both.
function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(rel) as { name?: string; version?: string };
      if (pkg.name === 'vigil' && pkg.version) return pkg.version;
    } catch {
      // not at this level: try the next one up
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
