#!/usr/bin/env node
// `npm test`: the whole suite, in layers, stopping at nothing so every failure is reported.
//   1. typecheck + compile to dist/ (tsc), so CLI tests run what a device runs; typecheck tests
//   2. native: the C++ engine and kernels under ctest (+ sanitizers, bounded fuzzing)
//   3. vitest: test/unit, test/binding, test/integration (real addon, real mosquitto)
//   4. ARM under qemu (npm run test:arm) when the cross toolchain and qemu are installed;
//      CI sets VIGIL_REQUIRE_ARM=1 so a missing toolchain fails instead of skipping.
//   5. x86 without AVX under qemu (npm run test:atom: the binding tests on an emulated Atom) on
//      x86_64 hosts with qemu-x86_64; CI sets VIGIL_REQUIRE_ATOM=1 likewise.
// Ends with one summary line "vigil: N passed, N failed" and a non-zero exit on any failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);

const only = process.argv.slice(2); // e.g. `npm test -- unit native`
const want = (name) => only.length === 0 || only.includes(name);
const results = []; // { name, passed, failed, skipped, ok }

function run(name, cmd, args, env = {}) {
  process.stdout.write(`\n=== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}

/**
 * Runs a suite that ends with its own "N passed, N failed" line, streaming its output, and
 * counts what it counted (a suite that exits non-zero counts at least one failure).
 */
function runCounted(name, cmd, args) {
  process.stdout.write(`\n=== ${name}: ${cmd} ${args.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['inherit', 'pipe', 'inherit'] });
    let last = null;
    let tail = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      tail = (tail + d.toString()).slice(-4096);
      for (const m of tail.matchAll(/^(?:\S+: )?(\d+) passed, (\d+) failed/gm)) last = m;
    });
    child.on('close', (code) => {
      const passed = last ? Number(last[1]) : code === 0 ? 1 : 0;
      let failed = last ? Number(last[2]) : 0;
      if (code !== 0 && failed === 0) failed = 1;
      resolve({ name, passed, failed });
    });
  });
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

if (want('typecheck')) {
  const ok =
    run('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json']) &&
    run('typecheck tests', 'npx', ['tsc', '-p', 'tsconfig.test.json']);
  results.push({ name: 'typecheck', passed: ok ? 1 : 0, failed: ok ? 0 : 1 });
}

if (want('native')) {
  if (existsSync('scripts/test-native.mjs')) {
    results.push(await runCounted('native (ctest)', process.execPath, ['scripts/test-native.mjs']));
  }
}

if (want('unit') || want('binding') || want('integration') || want('vitest')) {
  const layers = ['unit', 'binding', 'integration'].filter((l) => want(l) || want('vitest'));
  const dirs = layers.map((l) => `test/${l}`).filter((d) => existsSync(d));
  const tmp = mkdtempSync(path.join(tmpdir(), 'vigil-vitest-'));
  const jsonFile = path.join(tmp, 'report.json');
  const ok = run('vitest', 'npx', [
    'vitest',
    'run',
    ...dirs,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${jsonFile}`,
  ]);
  let passed = 0;
  let failed = 1;
  let skipped = 0;
  if (existsSync(jsonFile)) {
    const report = JSON.parse(readFileSync(jsonFile, 'utf8'));
    passed = report.numPassedTests;
    // a suite that fails to load has no failed *test*, but it is a failure
    failed = report.numFailedTests + (report.numFailedTestSuites > 0 && report.numFailedTests === 0 ? 1 : 0);
    skipped = report.numPendingTests + report.numTodoTests;
    // tests that never ran (their worker process died: vitest reports an unhandled error and
    // leaves them out of every other count) are failures
    failed += Math.max(0, report.numTotalTests - passed - report.numFailedTests - skipped);
    if (report.numTotalTests === 0) failed += 1; // a run of nothing is not a pass
  }
  if (!ok && failed === 0) failed = 1; // vitest exited non-zero (e.g. an unhandled error)
  rmSync(tmp, { recursive: true, force: true });
  results.push({ name: 'vitest', passed, failed, skipped });
}

if (want('arm')) {
  const tools = [
    'qemu-aarch64-static',
    'aarch64-linux-gnu-g++',
    'qemu-arm-static',
    'arm-linux-gnueabihf-g++',
  ];
  const missing = tools.filter((t) => !has(t));
  if (missing.length === 0 && existsSync('scripts/test-arm.sh')) {
    results.push(await runCounted('arm (qemu)', 'bash', ['scripts/test-arm.sh']));
  } else if (process.env.VIGIL_REQUIRE_ARM === '1') {
    process.stdout.write(`\n=== arm: missing ${missing.join(', ') || 'scripts/test-arm.sh'}\n`);
    results.push({ name: 'arm (qemu)', passed: 0, failed: 1 });
  } else {
    process.stdout.write(
      `\n=== arm: skipped (missing ${missing.join(', ')}; apt-get install qemu-user-static g++-aarch64-linux-gnu g++-arm-linux-gnueabihf)\n`,
    );
    results.push({ name: 'arm (qemu)', passed: 0, failed: 0, skipped: 1 });
  }
}

if (want('atom') && process.arch === 'x64') {
  if (has('qemu-x86_64-static') || has('qemu-x86_64')) {
    results.push(await runCounted('atom (qemu)', 'bash', ['scripts/test-atom.sh']));
  } else if (process.env.VIGIL_REQUIRE_ATOM === '1') {
    process.stdout.write('\n=== atom: missing qemu-x86_64\n');
    results.push({ name: 'atom (qemu)', passed: 0, failed: 1 });
  } else {
    process.stdout.write('\n=== atom: skipped (missing qemu-x86_64; apt-get install qemu-user-static)\n');
    results.push({ name: 'atom (qemu)', passed: 0, failed: 0, skipped: 1 });
  }
}

process.stdout.write('\n=== summary\n');
for (const r of results) {
  process.stdout.write(
    `  ${r.name.padEnd(16)} ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}\n`,
  );
}
const total = results.reduce(
  (a, r) => ({ p: a.p + r.passed, f: a.f + r.failed, s: a.s + (r.skipped ?? 0) }),
  { p: 0, f: 0, s: 0 },
);
process.stdout.write(`vigil: ${total.p} passed, ${total.f} failed${total.s ? `, ${total.s} skipped` : ''}\n`);
process.exitCode = total.f === 0 && total.p > 0 ? 0 : 1;
