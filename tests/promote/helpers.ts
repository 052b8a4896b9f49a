import { ToolError, type ExitCode } from "../../tools/lib/errors.js";
import { createLogger } from "../../tools/lib/log.js";
import { createGitHubClient } from "../../tools/promote/github.js";
import { main } from "../../tools/promote/command.js";
import type { GitHubApiStandIn } from "../stand-ins/github-api.js";

export interface CommandOutcome {
  code: ExitCode;
  stdout: string;
  /** The log lines, and the error message as runCommand prints it. */
  stderr: string;
}

/** GITHUB_* variables that point the commands at the stand-in. */
export function githubVariables(
  hub: GitHubApiStandIn,
  workTree: string,
): Record<string, string> {
  return {
    GITHUB_TOKEN: hub.token,
    GITHUB_REPOSITORY: `${hub.owner}/${hub.repo}`,
    GITHUB_API_URL: hub.url,
    INIT_CWD: workTree,
  };
}

/**
 * Runs a command's main() in-process and maps a thrown ToolError to its
 * exit code, as runCommand does for the real entry point.
 */
export async function runInProcess(
  run: (
    writeOutput: (text: string) => void,
    logger: ReturnType<typeof createLogger>,
  ) => Promise<ExitCode>,
): Promise<CommandOutcome> {
  let stdout = "";
  let stderr = "";
  const logger = createLogger("debug", (line) => (stderr += line + "\n"));
  try {
    const code = await run((text) => (stdout += text), logger);
    return { code, stdout, stderr };
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    stderr += `error: ${error.message}\n`;
    return { code: error.exitCode, stdout, stderr };
  }
}

/**
 * Runs `promote` against the stand-in with fast retries, and without the
 * throttling plugin unless `throttle` is set.
 */
export function promoteCommand(
  hub: GitHubApiStandIn,
  workTree: string,
  argv: string[],
  variables: Record<string, string> = githubVariables(hub, workTree),
  throttle = false,
): Promise<CommandOutcome> {
  return runInProcess((writeOutput, logger) =>
    main(argv, {
      environmentVariables: variables,
      writeOutput,
      logger,
      github: (settings, log) =>
        createGitHubClient(settings, log, { retryBaseMs: 5, throttle }),
    }),
  );
}
