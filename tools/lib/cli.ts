import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  EXIT_CANNOT_START,
  EXIT_PROBLEM,
  ToolError,
  UsageError,
  type ExitCode,
} from "./errors.js";
import { createLogger, isLogLevel, type Logger } from "./log.js";

export type OutputFormat = "text" | "json" | "github";

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  format: { type: "string", default: "text" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies ParseArgsConfig["options"];

/**
 * Parses argv with node:util's parseArgs and turns its errors into a
 * UsageError that shows the command's usage text.
 */
export function parseCommandLine<
  T extends NonNullable<ParseArgsConfig["options"]>,
>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${usage}`, {
      cause: error,
    });
  }
}

/** Reads `--format`, rejecting anything outside `allowed`. */
export function readFormat(
  value: unknown,
  allowed: readonly OutputFormat[],
): OutputFormat {
  const format = String(value ?? "text");
  if (!(allowed as readonly string[]).includes(format)) {
    throw new UsageError(
      `--format ${format} is not supported; use one of: ${allowed.join(", ")}`,
    );
  }
  return format as OutputFormat;
}

/** Builds the logger from `--log-level`, else LOG_LEVEL, else info. */
export function loggerFromFlag(value: unknown): Logger {
  if (value === undefined) return createLogger();
  const level = String(value);
  if (!isLogLevel(level)) {
    throw new UsageError(
      `--log-level ${level} is not supported; use one of: debug, info, warn, error, silent`,
    );
  }
  return createLogger(level);
}

/**
 * Runs a command's main function and maps its outcome to the shared exit
 * codes. Expected failures (ToolError) print their message alone; anything
 * else is a bug and prints its stack.
 */
export async function runCommand(
  main: () => Promise<ExitCode>,
): Promise<never> {
  let code: ExitCode;
  try {
    code = await main();
  } catch (error) {
    if (error instanceof ToolError) {
      process.stderr.write(`error: ${error.message}\n`);
      code = error.exitCode;
    } else {
      process.stderr.write(
        `internal error (a bug, please report it): ${(error as Error)?.stack ?? String(error)}\n`,
      );
      code = EXIT_PROBLEM;
    }
  }
  // Let stdout drain before exiting, so a large JSON result is never cut.
  await new Promise<void>((resolve) =>
    process.stdout.write("", () => resolve()),
  );
  process.exit(code);
}

export { EXIT_CANNOT_START };
