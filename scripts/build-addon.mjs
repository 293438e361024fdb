#!/usr/bin/env node
// Builds the native addon: build/Release/vigil_addon.node (npm run build:addon).
// cmake-js in Node-API mode (package.json "binary": {"napi_versions": [8]}) uses the
// node-api-headers package and downloads nothing, so this works offline.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'build', 'Release', 'vigil_addon.node');

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

const missing = [];
if (!has('cmake')) missing.push('cmake');
const cxx = process.env.CXX ?? 'c++';
if (!has(cxx) && !has('g++') && !has('clang++')) missing.push('a C++17 compiler');
if (missing.length > 0) {
  process.stderr.write(
    `build-addon: ${missing.join(' and ')} not found, so the native engine cannot be built.\n` +
      `  Debian/Ubuntu/Raspberry Pi OS: sudo apt-get install -y cmake g++ make\n` +
      `  then: npm run build:addon\n` +
      `  (without the addon, vigil runs on the onnxruntime backend where that exists)\n`,
  );
  process.exit(1);
}

const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
if (!existsSync(cmakeJs)) {
  process.stderr.write('build-addon: cmake-js is not installed: run `npm ci` first.\n');
  process.exit(1);
}

const args = [cmakeJs, 'compile', '--directory', 'addon', '--out', 'build', '--parallel', '2'];
// Extra flags pass through, e.g. `npm run build:addon -- --debug` or a cross toolchain.
args.push(...process.argv.slice(2));
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0 || !existsSync(output)) {
  process.stderr.write(
    `build-addon: the build failed (exit ${r.status ?? r.signal}). ` +
      `Check the compiler output above; a clean retry is: rm -rf build && npm run build:addon\n`,
  );
  process.exit(1);
}
process.stdout.write(`build-addon: ${output}\n`);
