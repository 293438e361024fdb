// Resident memory of one model, measured in a fresh child process so that nothing else the
// benchmark loaded is counted:  node rss-probe.js <native|ort> <model file> <Tf> <Cf> [addon]
// (Tf, Cf: the ONNX input x [1, Tf, Cf]; the native model takes its raw window shape from the GGUF)
// Prints one JSON line: { libraryRssBytes, modelRssBytes } where libraryRssBytes is what loading
// the runtime itself added (addon / onnxruntime-node) and modelRssBytes what creating the model
// or session and running it once added on top.
import '../inference/ort-telemetry.js'; // before onnxruntime-node: its telemetry off (ort-telemetry.ts)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface RssProbeResult {
  libraryRssBytes: number;
  modelRssBytes: number;
}

async function probe(
  kind: string,
  file: string,
  tf: number,
  cf: number,
  addonPath?: string,
): Promise<RssProbeResult> {
  const bytes = readFileSync(file);
  const rss0 = process.memoryUsage.rss();
  if (kind === 'native') {
    const addon = createRequire(import.meta.url)(
      addonPath!,
    ) as typeof import('../../addon/binding/vigil_addon.js');
    addon.engineInfo();
    const rss1 = process.memoryUsage.rss();
    const m = new addon.Model(bytes);
    m.runSync(new Float32Array(m.info.inputShape[0] * m.info.inputShape[1]).fill(0.5)); // the raw window
    const rss2 = process.memoryUsage.rss();
    m.dispose();
    return { libraryRssBytes: rss1 - rss0, modelRssBytes: rss2 - rss1 };
  }
  const ort = await import('onnxruntime-node');
  const rss1 = process.memoryUsage.rss();
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  await s.run({ x: new ort.Tensor('float32', new Float32Array(tf * cf).fill(0.5), [1, tf, cf]) });
  const rss2 = process.memoryUsage.rss();
  await s.release();
  return { libraryRssBytes: rss1 - rss0, modelRssBytes: rss2 - rss1 };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [kind, file, tf, cf, addonPath] = process.argv.slice(2);
  probe(kind, file, Number(tf), Number(cf), addonPath).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err: unknown) => {
      process.stderr.write(`rss-probe: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
