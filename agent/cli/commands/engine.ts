// `vigil engine info [--json]`: what the native engine sees on this machine (CPU features, the
// kernel paths compiled in and runnable, the one selected, honoring VIGIL_ISA).
import type { Command } from 'commander';
import { defaultAddonPath, loadAddon } from '../../inference/addon-loader.js';

export function register(program: Command): void {
  const engine = program.command('engine').description('the native int8 engine');
  engine
    .command('info')
    .description(
      'CPU features and kernel paths (compiled, available, selected); exit 1 when the addon is unusable',
    )
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      const addonPath = defaultAddonPath();
      const addon = await loadAddon({ addonPath });
      const info = addon.engineInfo();
      if (opts.json) {
        const out = {
          selected: info.selected,
          compiled: info.compiled,
          available: info.available,
          cpuFeatures: info.cpuFeatures,
          arch: info.arch,
          version: info.version,
          addonPath,
        };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      const features = Object.entries(info.cpuFeatures)
        .filter(([, on]) => on)
        .map(([name]) => name);
      process.stdout.write(
        [
          `engine ${info.version} (${info.arch})  ${addonPath}`,
          `selected:  ${info.selected}${process.env.VIGIL_ISA ? ' (forced by VIGIL_ISA)' : ''}`,
          `available: ${info.available.join(', ')}`,
          `compiled:  ${info.compiled.join(', ')}`,
          `cpu:       ${features.length > 0 ? features.join(' ') : '(no SIMD features detected)'}`,
          // avx_vnni is one source in two encodings (docs/kernels.md): on an AVX-512 CPU without
          // AVX-VNNI the EVEX build runs under that name.
          ...(info.available.includes('avx_vnni') && !info.cpuFeatures.avx_vnni
            ? [
                'note:      avx_vnni runs its EVEX-encoded build here (the CPU has AVX-512 VNNI, not AVX-VNNI)',
              ]
            : []),
        ].join('\n') + '\n',
      );
    });
}
