// onnxruntime-node (1.30) ships ONNX Runtime's POSIX telemetry switched on: in every process
// that creates a session it writes a persistent device id and an event store under
// $HOME/.cache/Microsoft/DeveloperTools/.onnxruntime/, leaves mat-debug-<pid>.log and .ses in
// $TMPDIR, and is configured to upload to mobile.events.data.microsoft.com. An agent next to
// plant equipment must not call out to anyone but its broker, nor write identifiers nobody
// asked for, so vigil opts out with ORT's own switch, ORT_DISABLE_TELEMETRY=1, read once when
// ORT initializes (docs/backends.md "onnxruntime's telemetry"). Importing this module sets it in the
// process environment unless the operator set it (ORT_DISABLE_TELEMETRY=0 opts back in).
// Import it before onnxruntime-node, on the main thread: worker threads see a copy of
// process.env that native code does not read, and they and child processes inherit the
// main thread's real environment.

export const ORT_TELEMETRY_VARIABLE = 'ORT_DISABLE_TELEMETRY';

/** Sets ORT_DISABLE_TELEMETRY=1 in env unless it is already set; returns the value in force. */
export function disableOrtTelemetry(env: NodeJS.ProcessEnv = process.env): string {
  env[ORT_TELEMETRY_VARIABLE] ??= '1';
  return env[ORT_TELEMETRY_VARIABLE];
}

disableOrtTelemetry();
