import { type Logger, pino } from "pino";

let fallback: Logger | undefined;

/**
 * Where the storage layer reports what it did to the files (truncations, damage found),
 * when its owner passed no logger: warnings and errors as JSON lines on stderr, written
 * synchronously so a report survives a crash right after it. Never silent by default.
 */
export function storageLogger(logger?: Logger): Logger {
  if (logger !== undefined) return logger;
  fallback ??= pino(
    { name: "tributary-log", level: "warn" },
    pino.destination({ dest: 2, sync: true }),
  );
  return fallback;
}
