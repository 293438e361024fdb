// Messages between the ORT worker host (onnx-worker-backend.ts, JS thread) and the worker thread
// (onnx-worker.ts). Float32Array buffers travel as transfers (moved, not copied): the host packs
// the batch into one fresh array it gives away, the worker gives back the output arrays.
import type { InputSpec } from '../model/manifest-types.js';
import type { PackedOutputs } from './onnx-session.js';

export type HostToWorker =
  | { type: 'open'; onnxPath: string; input: InputSpec }
  | { type: 'run'; id: number; count: number; raw: Float32Array }
  /** End the thread once no ORT run is in flight (onnx-worker-backend.ts closeWorker). */
  | { type: 'close' };

export type WorkerToHost =
  | { type: 'opened'; dynamicBatch: boolean }
  | { type: 'openFailed'; code: string; message: string }
  | {
      type: 'result';
      id: number;
      outputs: PackedOutputs;
      /** Time inside the worker for this call (front end + ORT), microseconds. */
      workerUs: number;
    }
  | { type: 'runFailed'; id: number; code: string; message: string; index?: number };
