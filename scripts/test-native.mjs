#!/usr/bin/env node
// `npm run test:native`: the C++ engine and kernel tests, no Node addon involved.
//   1. build/native        plain cmake, -DVIGIL_BUILD_TESTS=ON, ctest --output-on-failure
//   2. build/native-asan   the same with -DVIGIL_SANITIZE=ON (ASan + UBSan)
//   3. build/native-fuzz   if addon/fuzz exists: clang + libFuzzer, each target for
//                          VIGIL_FUZZ_SECONDS (default 30) seconds
// Env: VIGIL_NATIVE_SKIP=asan,fuzz skips stages (local iteration only; CI runs all).
// Fails loudly on any failure and ends with the plain line "N passed, N failed" (ctest tests
// plus fuzz targets; a stage that fails to build counts as one failure).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);

const skip = new Set((process.env.VIGIL_NATIVE_SKIP ?? '').split(',').filter(Boolean));
const fuzzSeconds = Number.parseInt(process.env.VIGIL_FUZZ_SECONDS ?? '30', 10);
if (!Number.isFinite(fuzzSeconds) || fuzzSeconds < 1) {
  console.error(
    `test-native: VIGIL_FUZZ_SECONDS must be a positive integer, got '${process.env.VIGIL_FUZZ_SECONDS}'`,
  );
  process.exit(2);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
const generator = has('ninja') ? ['-G', 'Ninja'] : [];

let passed = 0;
let failed = 0;
const problems = [];

function sh(label, cmd, args, opts = {}) {
  process.stdout.write(`\n--- ${label}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, {
    stdio: opts.capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    ...opts,
    encoding: 'utf8',
  });
  if (opts.capture) {
    process.stdout.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
  }
  return r;
}

// configure + build; returns true on success (a failure counts once and is reported).
function build(stage, dir, extra, env = {}) {
  const cfg = sh(
    `${stage} configure`,
    'cmake',
    ['-S', 'addon', '-B', dir, ...generator, '-DVIGIL_BUILD_TESTS=ON', ...extra],
    {
      env: { ...process.env, ...env },
    },
  );
  if (cfg.status !== 0) {
    failed += 1;
    problems.push(`${stage}: cmake configure failed`);
    return false;
  }
  const b = sh(`${stage} build`, 'cmake', ['--build', dir, '-j2'], { env: { ...process.env, ...env } });
  if (b.status !== 0) {
    failed += 1;
    problems.push(`${stage}: build failed`);
    return false;
  }
  return true;
}

// Runs ctest and adds its counts ("N% tests passed, F tests failed out of T").
function ctest(stage, dir, env = {}) {
  const r = sh(`${stage} ctest`, 'ctest', ['--test-dir', dir, '--output-on-failure', '-j2'], {
    capture: true,
    env: { ...process.env, ...env },
  });
  const out = `${r.stdout ?? ''}`;
  const m = out.match(/tests passed, (\d+) tests failed out of (\d+)/);
  if (!m) {
    failed += 1;
    problems.push(`${stage}: ctest ran no tests or crashed (exit ${r.status})`);
    return;
  }
  const f = Number(m[1]);
  const total = Number(m[2]);
  if (total === 0) {
    failed += 1;
    problems.push(`${stage}: ctest found no tests`);
    return;
  }
  passed += total - f;
  failed += f;
  if (f > 0 || r.status !== 0) problems.push(`${stage}: ${f} of ${total} ctest tests failed`);
}

// 1. plain
if (build('native', 'build/native', ['-DCMAKE_BUILD_TYPE=Release'])) ctest('native', 'build/native');

// 2. sanitizers
if (!skip.has('asan')) {
  const asanEnv = {
    ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:strict_string_checks=1',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  };
  if (build('asan', 'build/native-asan', ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DVIGIL_SANITIZE=ON'])) {
    ctest('asan', 'build/native-asan', asanEnv);
  }
}

// 3. fuzzing (needs clang with libFuzzer)
if (!skip.has('fuzz') && existsSync('addon/fuzz/CMakeLists.txt')) {
  if (!has('clang') || !has('clang++')) {
    failed += 1;
    problems.push('fuzz: addon/fuzz exists but clang/clang++ is not installed');
  } else if (
    build(
      'fuzz',
      'build/native-fuzz',
      ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DVIGIL_FUZZ=ON', '-DVIGIL_BUILD_TESTS=OFF'],
      {
        CC: 'clang',
        CXX: 'clang++',
      },
    )
  ) {
    const binDir = 'build/native-fuzz/fuzz';
    const targets = existsSync(binDir)
      ? readdirSync(binDir).filter((f) => {
          const p = path.join(binDir, f);
          const st = statSync(p);
          return st.isFile() && (st.mode & 0o111) !== 0 && !f.includes('.');
        })
      : [];
    if (targets.length === 0) {
      failed += 1;
      problems.push(`fuzz: no fuzz target executables found in ${binDir}`);
    }
    for (const t of targets) {
      const work = mkdtempSync(path.join(tmpdir(), `vigil-fuzz-${t}-`));
      const seeds = ['addon/fuzz/corpus/' + t, 'addon/fuzz/corpus/' + t.replace(/^fuzz_|_fuzz$/g, '')].filter(
        (d) => existsSync(d),
      );
      const artifacts = path.join('build/native-fuzz/artifacts', t) + '/';
      mkdirSync(artifacts, { recursive: true });
      const r = sh(
        `fuzz ${t} (${fuzzSeconds}s)`,
        path.join(binDir, t),
        [
          `-max_total_time=${fuzzSeconds}`,
          '-rss_limit_mb=2048',
          `-artifact_prefix=${artifacts}`,
          '-print_final_stats=1',
          work,
          ...seeds,
        ],
        { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1' } },
      );
      rmSync(work, { recursive: true, force: true });
      if (r.status === 0) {
        passed += 1;
      } else {
        failed += 1;
        problems.push(`fuzz ${t}: exit ${r.status} (crash input under ${artifacts})`);
      }
    }
  }
}

process.stdout.write('\n');
for (const p of problems) process.stdout.write(`test-native: FAILED ${p}\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
