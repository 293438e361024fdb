// systemd notifications through the native addon (Node has no AF_UNIX datagram sockets).
// Without the addon, or outside systemd, notify() is a no-op; a missing addon under systemd
// (NOTIFY_SOCKET set) is warned about once, because Type=notify would then time out.
import type { Logger } from '../log/logger.js';

export type SdNotifyFn = (state: string) => boolean;

export interface Notifier {
  notify(state: string): boolean;
}

export function createNotifier(
  sdNotify: SdNotifyFn | null,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Notifier {
  let warned = false;
  return {
    notify(state) {
      if (!sdNotify) {
        if (!warned && env.NOTIFY_SOCKET) {
          warned = true;
          log.warn(
            { state },
            'sd_notify unavailable (native addon not loaded): systemd readiness and watchdog are not fed',
          );
        }
        return false;
      }
      try {
        return sdNotify(state);
      } catch (err) {
        log.warn({ err: (err as Error).message, state }, 'sd_notify failed');
        return false;
      }
    },
  };
}
