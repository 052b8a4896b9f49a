// Runs one kustomize build of the folder in argv[2] and waits for it, so a
// test can signal this process while the build is in progress.
import { runKustomize } from "../../tools/validate/kustomize.js";

const build = runKustomize(process.argv[2]!);
process.stdout.write("spawned\n");
await build;
