import { runCommand } from "../tools/lib/cli.js";
import { EXIT_OK, UsageError, type ExitCode } from "../tools/lib/errors.js";

/**
 * Entry point of `npm run bootstrap -- <subcommand> ...`. Each subcommand's
 * module is imported only when it runs, so one subcommand's dependencies
 * (an AWS SDK, a database driver) do not load for another.
 */
interface Subcommand {
  summary: string;
  load: () => Promise<{ main(argv: string[]): Promise<ExitCode> }>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  cluster: {
    summary:
      "create or update an EKS cluster from clusters/<name>/cluster.yaml, then hand it to Flux",
    load: () => import("./cluster/command.js"),
  },
  databases: {
    summary:
      "create each Ory service's database, user and Secret, then verify isolation",
    load: () => import("./databases/command.js"),
  },
};

function usage(): string {
  const width = Math.max(
    ...Object.keys(SUBCOMMANDS).map((name) => name.length),
  );
  const lines = Object.entries(SUBCOMMANDS).map(
    ([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`,
  );
  return [
    "Usage: npm run bootstrap -- <subcommand> [arguments]",
    "",
    "Subcommands:",
    ...lines,
    "",
    'Run "npm run bootstrap -- <subcommand> --help" for its options.',
  ].join("\n");
}

await runCommand(async () => {
  const [name, ...rest] = process.argv.slice(2);
  if (name === "--help" || name === "-h") {
    process.stdout.write(usage() + "\n");
    return EXIT_OK;
  }
  if (name === undefined) {
    throw new UsageError(`missing subcommand\n\n${usage()}`);
  }
  const subcommand = SUBCOMMANDS[name];
  if (!subcommand) {
    throw new UsageError(`unknown subcommand "${name}"\n\n${usage()}`);
  }
  const module = await subcommand.load();
  return module.main(rest);
});
