// The worker-thread side of the ORT backend (docs/backends.md): one thread per ONNX model holds
// that model's onnxruntime session and front end, so the agent's event loop never waits on ORT.
// Started by onnx-worker-backend.ts; speaks onnx-worker-protocol.ts. onnxruntime-node is loaded
// here only: on a platform without it (32-bit ARM) open fails with BACKEND_UNAVAILABLE.
import './ort-telemetry.js'; // before onnxruntime-node: its telemetry off (ort-telemetry.ts)
import { parentPort } from 'node:worker_threads';
import type { HostToWorker, WorkerToHost } from './onnx-worker-protocol.js';
import { OnnxSession, type OrtModule, type PackedOutputs } from './onnx-session.js';

const port = parentPort;
if (!port) throw new Error('onnx-worker.js must run in a worker thread (node:worker_threads)');

let session: OnnxSession | null = null;

function send(m: WorkerToHost, transfer: ArrayBuffer[] = []): void {
  const p = port as NonNullable<typeof port>;
  try {
    p.postMessage(m, transfer);
  } catch {
    p.postMessage(m); // a buffer that cannot be moved is copied instead
  }
}

function codeOf(err: unknown, fallback: string): string {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'string' ? c : fallback;
}

let inFlight = 0; // ORT calls (session opens and runs) not finished yet
let closing = false;
let ending = false;

/**
 * Ends the thread once no ORT call is in flight: the session is released and the thread exits on
 * its own. (A thread terminated while onnxruntime-node still has a call in flight can abort the
 * whole process: onnx-worker-backend.ts closeWorker.)
 */
function endIfIdle(): void {
  if (!closing || inFlight > 0 || ending) return;
  ending = true;
  const s = session;
  session = null;
  void (s ? s.release().catch(() => undefined) : Promise.resolve()).then(() => process.exit(0));
}

/** Runs one ORT call counted in inFlight, so that 'close' waits for it. */
function track(call: () => Promise<void>): void {
  inFlight++;
  void call().finally(() => {
    inFlight--;
    endIfIdle();
  });
}

async function open(m: Extract<HostToWorker, { type: 'open' }>): Promise<void> {
  let ort: OrtModule;
  try {
    ort = (await import('onnxruntime-node')) as unknown as OrtModule;
  } catch (err) {
    send({
      type: 'openFailed',
      code: 'BACKEND_UNAVAILABLE',
      message: `onnxruntime-node does not load on ${process.platform}/${process.arch}: ${(err as Error).message}`,
    });
    return;
  }
  try {
    session = await OnnxSession.open(ort, m.onnxPath, m.input);
    send({ type: 'opened', dynamicBatch: session.dynamicBatch });
  } catch (err) {
    send({ type: 'openFailed', code: codeOf(err, 'MODEL_LOAD'), message: (err as Error).message });
  }
}

async function run(m: Extract<HostToWorker, { type: 'run' }>): Promise<void> {
  if (!session) {
    send({
      type: 'runFailed',
      id: m.id,
      code: 'BACKEND_INTERNAL',
      message: 'failed to run: no session is open',
    });
    return;
  }
  const t0 = process.hrtime.bigint();
  try {
    const outputs = await session.run(m.raw, m.count);
    const workerUs = Number(process.hrtime.bigint() - t0) / 1000;
    send({ type: 'result', id: m.id, outputs, workerUs }, transferables(outputs));
  } catch (err) {
    const index = (err as { index?: unknown }).index;
    send({
      type: 'runFailed',
      id: m.id,
      code: codeOf(err, 'ENGINE_RUN_FAILED'),
      message: (err as Error).message,
      ...(typeof index === 'number' ? { index } : {}),
    });
  }
}

/** Each distinct output buffer once (heads may share one); never a SharedArrayBuffer. */
function transferables(o: PackedOutputs): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const a of Object.values(o))
    if (a.buffer instanceof ArrayBuffer && a.buffer.byteLength > 0) set.add(a.buffer);
  return [...set];
}

port.on('message', (m: HostToWorker) => {
  if (m.type === 'open') track(() => open(m));
  else if (m.type === 'run') track(() => run(m));
  else if (m.type === 'close') {
    closing = true;
    endIfIdle();
  }
});
