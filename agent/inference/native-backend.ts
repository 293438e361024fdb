// The native engine (vigil_addon Model) as a Backend. run() goes to the libuv pool, so the event
// loop keeps serving MQTT while a window is inferred.
import type { Model as AddonModel } from '../../addon/binding/vigil_addon.js';
import type { Backend, InferenceOutputs } from './backend.js';

export type AddonModule = typeof import('../../addon/binding/vigil_addon.js');

export class NativeBackend implements Backend {
  readonly kind = 'native' as const;
  readonly detail: string;

  constructor(private readonly model: AddonModel) {
    this.detail = model.info.isa;
  }

  get inputShape(): [number, number] {
    return this.model.info.inputShape;
  }

  async run(window: Float32Array): Promise<InferenceOutputs> {
    const o = await this.model.run(window);
    return {
      probs: o.probs,
      embedding: o.embedding,
      patchError: o.patchError,
      channelError: o.channelError,
      inferenceUs: o.inferenceUs,
    };
  }

  async dispose(): Promise<void> {
    if (!this.model.disposed) this.model.dispose();
  }
}

/** Load a GGUF with the addon; `threads` > 1 only helps large models. */
export function openNativeBackend(addon: AddonModule, ggufPath: string, threads = 1): NativeBackend {
  return new NativeBackend(new addon.Model(ggufPath, { threads }));
}
