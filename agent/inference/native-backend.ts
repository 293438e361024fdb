// The native engine (vigil_addon Model) as a Backend. run() goes to the libuv pool, so the event
// loop keeps serving MQTT while a window is inferred; runBatch() does N windows in one pool work
// item (Model.runBatch), bit-identical to N run()s.
import type { Model as AddonModel } from '../../addon/binding/vigil_addon.js';
import type { Backend, InferenceOutputs } from './backend.js';

export type AddonModule = typeof import('../../addon/binding/vigil_addon.js');

export class NativeBackend implements Backend {
  readonly kind = 'native' as const;
  readonly detail: string;

  /** Absent when the loaded addon predates Model.runBatch (or a test double lacks it). */
  readonly runBatch?: (windows: readonly Float32Array[]) => Promise<InferenceOutputs[]>;

  constructor(private readonly model: AddonModel) {
    this.detail = model.info.isa;
    if (typeof (model as Partial<AddonModel>).runBatch === 'function') {
      this.runBatch = async (windows) => (await model.runBatch([...windows])).map(toOutputs);
    }
  }

  get inputShape(): [number, number] {
    return this.model.info.inputShape;
  }

  async run(window: Float32Array): Promise<InferenceOutputs> {
    return toOutputs(await this.model.run(window));
  }

  async dispose(): Promise<void> {
    if (!this.model.disposed) this.model.dispose();
  }
}

function toOutputs(o: Awaited<ReturnType<AddonModel['run']>>): InferenceOutputs {
  return {
    probs: o.probs,
    embedding: o.embedding,
    patchError: o.patchError,
    channelError: o.channelError,
    inferenceUs: o.inferenceUs,
  };
}

/** Load a GGUF with the addon; `threads` > 1 only helps large models. */
export function openNativeBackend(addon: AddonModule, ggufPath: string, threads = 1): NativeBackend {
  return new NativeBackend(new addon.Model(ggufPath, { threads }));
}
