// Structured JSON-lines logging (pino) to stdout, which journald keeps. One root logger per
// process; every module takes a child named after itself so lines can be filtered by module.
import { pino, type Logger, type Level } from 'pino';

export type { Logger };

let root: Logger = pino({
  level: process.env.VIGIL_LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
});

/** A child logger for one module, e.g. createLogger('mqtt'). */
export function createLogger(module: string): Logger {
  return root.child({ module });
}

/** Replace the root (level change, or a silent logger in tests). Existing children keep the old root. */
export function setRootLogger(logger: Logger): void {
  root = logger;
}

export function setLogLevel(level: Level): void {
  root.level = level;
}

export function rootLogger(): Logger {
  return root;
}
