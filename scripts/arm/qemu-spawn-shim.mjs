// Preloaded (NODE_OPTIONS=--import) into every node process of the binding tests under qemu
// (scripts/arm/binding-phase.sh): vitest's main process, its forked workers, the addon probe.
// Without binfmt_misc the host kernel cannot exec an ARM binary, so a child process started
// with process.execPath (the addon loader's probe does exactly that) fails with ENOEXEC. This
// swaps process.execPath for $VIGIL_QEMU_NODE, a host shell script that runs the same ARM node
// under qemu with the same -cpu (the role binfmt_misc plays on a real emulation host; inherited
// fds such as fork()'s IPC channel pass through exec and qemu unchanged). Nothing else changes;
// the shim is inert when the variable is unset.
import cp from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

const wrapper = process.env.VIGIL_QEMU_NODE;
if (wrapper && !cp.spawn.vigilQemuShim) {
  const swap = (file) => (file === process.execPath ? wrapper : file);
  for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync']) {
    const original = cp[name];
    const shimmed = function (file, ...rest) {
      return original.call(this, swap(file), ...rest);
    };
    shimmed.vigilQemuShim = true;
    cp[name] = shimmed;
  }
  const originalFork = cp.fork;
  cp.fork = function (modulePath, args, options) {
    const opts = Array.isArray(args) ? { ...(options ?? {}) } : { ...(args ?? {}) };
    if (!opts.execPath || opts.execPath === process.execPath) opts.execPath = wrapper;
    return Array.isArray(args)
      ? originalFork.call(this, modulePath, args, opts)
      : originalFork.call(this, modulePath, opts);
  };
  syncBuiltinESMExports();
}
