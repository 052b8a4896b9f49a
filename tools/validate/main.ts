import { appendFile } from "node:fs/promises";
import path from "node:path";
import {
  loggerFromFlag,
  parseCommandLine,
  readFormat,
  runCommand,
} from "../lib/cli.js";
import { EXIT_OK, EXIT_PROBLEM, UsageError } from "../lib/errors.js";
import { formatGithub, formatJson, formatText } from "./report.js";
import { validate } from "./validate.js";

const USAGE = `Usage: npm run validate -- [PATH] [--env NAME] [--format text|github|json]

Validates a Flux repository the way Flux would apply it.

  PATH             repository root to validate (default: the current directory)
  --env NAME       only the clusters of environment NAME (environments/NAME/environment.yaml)
  --format FORMAT  text (default), github (workflow annotations and job summary), or json
  --log-level L    debug, info, warn, error or silent (default: LOG_LEVEL, else info)

Exit codes: 0 no errors, 1 errors found, 2 usage or environment problem.
For JSON, run npm with -s so its banner stays out of stdout:
  npm run -s validate -- --format json`;

await runCommand(async () => {
  const { values, positionals } = parseCommandLine(
    process.argv.slice(2),
    { env: { type: "string" } },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return EXIT_OK;
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `expected at most one PATH, got ${positionals.length}: ${positionals.join(" ")}\n\n${USAGE}`,
    );
  }
  const format = readFormat(values.format, ["text", "github", "json"]);
  const log = loggerFromFlag(values["log-level"]);
  // npm runs scripts from the package root; INIT_CWD is where the user was.
  const invokedFrom = process.env.INIT_CWD ?? process.cwd();
  const root = path.resolve(invokedFrom, positionals[0] ?? ".");

  log.debug(`validating ${root}`);
  const result = await validate({
    root,
    ...(values.env ? { environment: values.env } : {}),
  });

  if (format === "json") {
    process.stdout.write(formatJson(result));
  } else if (format === "github") {
    const { annotations, summary } = formatGithub(result);
    process.stdout.write(annotations);
    const summaryFile = process.env.GITHUB_STEP_SUMMARY;
    if (summaryFile) await appendFile(summaryFile, summary);
  } else {
    process.stdout.write(formatText(result));
  }
  return result.summary.errors > 0 ? EXIT_PROBLEM : EXIT_OK;
});
