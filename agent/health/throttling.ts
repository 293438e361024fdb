// Raspberry Pi firmware throttling flags. Source, in order: the firmware's sysfs file (kernels
// with the raspberrypi firmware driver), then `vcgencmd get_throttled`. Elsewhere: null.
// Bits (Raspberry Pi documentation): 0 under-voltage now, 1 ARM frequency capped now, 2 throttled
// now, 3 soft temperature limit now; 16-19 the same "has occurred since boot".
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export const GET_THROTTLED_SYSFS = '/sys/devices/platform/soc/soc:firmware/get_throttled';

export interface Throttling {
  raw: string;
  underVoltage: boolean;
  frequencyCapped: boolean;
  throttled: boolean;
  softTempLimit: boolean;
  occurred: boolean;
}

export function parseThrottled(text: string): Throttling | null {
  // sysfs gives bare hex ("50005"), vcgencmd gives "throttled=0x50005".
  const m = /(?:throttled=)?(0x)?([0-9a-fA-F]+)\s*$/.exec(text.trim());
  if (!m) return null;
  const v = parseInt(m[2], 16);
  if (!Number.isFinite(v)) return null;
  return {
    raw: '0x' + v.toString(16),
    underVoltage: (v & 0x1) !== 0,
    frequencyCapped: (v & 0x2) !== 0,
    throttled: (v & 0x4) !== 0,
    softTempLimit: (v & 0x8) !== 0,
    occurred: (v & 0xf0000) !== 0,
  };
}

export async function readThrottling(): Promise<Throttling | null> {
  try {
    return parseThrottled(await readFile(GET_THROTTLED_SYSFS, 'utf8'));
  } catch {
    // not a Pi with the firmware driver: try vcgencmd below
  }
  return new Promise((resolve) => {
    execFile('vcgencmd', ['get_throttled'], { timeout: 2000 }, (err, stdout) => {
      resolve(err ? null : parseThrottled(stdout));
    });
  });
}
