/**
 * Levelled logger writing to stderr, so stdout carries only a command's
 * result. The level comes from `--log-level` or LOG_LEVEL (default "info").
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const ORDER: Record<LogLevel, number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  silent: 100,
};

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(ORDER, value);
}

export function createLogger(
  level: LogLevel = readLevelFromEnv(),
  write: (line: string) => void = (line) => process.stderr.write(line + "\n"),
): Logger {
  const threshold = ORDER[level];
  const emit = (at: LogLevel, message: string) => {
    if (ORDER[at] < threshold) return;
    const prefix = at === "info" ? "" : `${at}: `;
    write(prefix + message);
  };
  return {
    debug: (message) => emit("debug", message),
    info: (message) => emit("info", message),
    warn: (message) => emit("warn", message),
    error: (message) => emit("error", message),
  };
}

function readLevelFromEnv(): LogLevel {
  const value = process.env.LOG_LEVEL?.toLowerCase();
  return value && isLogLevel(value) ? value : "info";
}
