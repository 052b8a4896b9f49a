/**
 * Exit codes shared by every command in this repository.
 * 0: done (clean, passed, synced, or nothing to do).
 * 1: the job ran and found a problem.
 * 2: the job could not start (usage, configuration, credentials, or the
 *    managed system cannot be reached).
 */
export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_CANNOT_START = 2;

export type ExitCode =
  typeof EXIT_OK | typeof EXIT_PROBLEM | typeof EXIT_CANNOT_START;

/**
 * An expected failure that a person can fix: printed as its message without a
 * stack trace, then the process exits with `exitCode`.
 */
export class ToolError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode, options?: ErrorOptions) {
    super(message, options);
    this.name = "ToolError";
    this.exitCode = exitCode;
  }
}

/** Bad flags, arguments, configuration files or credentials: exit 2. */
export class UsageError extends ToolError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_CANNOT_START, options);
    this.name = "UsageError";
  }
}
