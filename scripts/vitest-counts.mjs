#!/usr/bin/env node
// vitest-counts.mjs REPORT.json: prints "<passed> <failed>" from a vitest JSON report, counting a
// suite that failed to load (no failed test) and a run of nothing as one failure each. Used by
// the emulated runs (scripts/arm/binding-phase.sh, scripts/test-atom.sh).
import { readFileSync } from 'node:fs';

const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const failed =
  r.numFailedTests + (r.numFailedTestSuites && !r.numFailedTests ? 1 : 0) + (r.numTotalTests === 0 ? 1 : 0);
console.log(r.numPassedTests, failed);
