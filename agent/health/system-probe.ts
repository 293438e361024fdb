// The device part of `health`: load, memory, disk of the data directory, SoC temperature and
// throttling where the board reports them, this process's CPU share and event-loop delay.
import { statfs } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import si from 'systeminformation';
import type { SystemHealth } from '../reports/health.js';
import { readThrottling } from './throttling.js';

export interface SystemProbe {
  sample(): Promise<SystemHealth>;
  close(): void;
}

async function memAvailable(): Promise<number> {
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(await readFile('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: os.freemem() below
  }
  return os.freemem();
}

async function disk(dir: string): Promise<SystemHealth['disk']> {
  try {
    const s = await statfs(dir);
    return { path: dir, totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
  } catch {
    return null; // data dir not created yet or not accessible: reported as unknown
  }
}

async function socTemp(): Promise<number | null> {
  try {
    const t = await si.cpuTemperature();
    return typeof t.main === 'number' && Number.isFinite(t.main) ? t.main : null;
  } catch {
    return null; // no sensor exposed (VMs, containers)
  }
}

export function createSystemProbe(dataDir: string): SystemProbe {
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  let lastCpu = process.cpuUsage();
  let lastWall = process.hrtime.bigint();
  return {
    async sample() {
      const [availableBytes, d, temp, thr] = await Promise.all([
        memAvailable(),
        disk(dataDir),
        socTemp(),
        readThrottling(),
      ]);
      const cpus = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
      const la = os.loadavg() as [number, number, number];
      const cpu = process.cpuUsage(lastCpu);
      const wall = process.hrtime.bigint();
      const wallUs = Number(wall - lastWall) / 1000;
      lastCpu = process.cpuUsage();
      lastWall = wall;
      const mu = process.memoryUsage();
      const delayMs = loop.count > 0 ? loop.percentile(99) / 1e6 : 0;
      loop.reset();
      return {
        cpuLoad: round3(la[0] / cpus),
        loadAvg: [round3(la[0]), round3(la[1]), round3(la[2])],
        cpus,
        processCpuPct: wallUs > 0 ? round3((100 * (cpu.user + cpu.system)) / wallUs) : 0,
        memory: { totalBytes: os.totalmem(), availableBytes, rssBytes: mu.rss, heapUsedBytes: mu.heapUsed },
        disk: d,
        socTempC: temp,
        throttled: thr,
        eventLoopDelayMs: round3(delayMs),
      };
    },
    close() {
      loop.disable();
    },
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
