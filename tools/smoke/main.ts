import { runCommand } from "../lib/cli.js";
import { main } from "./command.js";

await runCommand(() => main(process.argv.slice(2)));
