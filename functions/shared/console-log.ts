import { systemClock, type Clock } from './clock.ts';
import type { Log } from './log.ts';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

/** A human-readable Log for the local stack and the CLI: `HH:MM:SS level message {extra}`, the time from `clock`. */
export function consoleLog(minimum: string = 'info', write: (line: string) => void = (l) => process.stderr.write(`${l}\n`), clock: Clock = systemClock): Log {
  const floor = Math.max(0, LEVELS.indexOf(minimum.toLowerCase() as Level));
  const at = (level: Level) => (message: string, extra?: Record<string, unknown>) => {
    if (LEVELS.indexOf(level) < floor) return;
    const time = clock.now().toISOString().slice(11, 19);
    write(`${time} ${level.padEnd(5)} ${message}${extra && Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : ''}`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
