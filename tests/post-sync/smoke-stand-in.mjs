// Stands in for `npm run smoke` in post-sync's tests: it posts the
// smoke/<environment> commit status that the real command posts, through
// the GitHub API named by GITHUB_API_URL, and exits as the real one would.
// SMOKE_STAND_IN_RESULT=failure makes it fail; SMOKE_STAND_IN_LOG names a
// file that gets one line of arguments per run.
import { appendFile } from "node:fs/promises";

const args = process.argv.slice(2);
const environment = args[0];
const sha = args[args.indexOf("--commit-status") + 1];
const state = process.env.SMOKE_STAND_IN_RESULT ?? "success";

if (process.env.SMOKE_STAND_IN_LOG) {
  await appendFile(process.env.SMOKE_STAND_IN_LOG, args.join(" ") + "\n");
}
const response = await fetch(
  `${process.env.GITHUB_API_URL}/repos/${process.env.GITHUB_REPOSITORY}/statuses/${sha}`,
  {
    method: "POST",
    headers: {
      authorization: `token ${process.env.GITHUB_TOKEN}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      state,
      context: `smoke/${environment}`,
      description: `stand-in smoke ${state}`,
    }),
  },
);
if (!response.ok) {
  process.stderr.write(`posting the status failed: ${response.status}\n`);
  process.exit(2);
}
process.stdout.write(`smoke ${environment}: ${state}\n`);
process.exit(state === "success" ? 0 : 1);
