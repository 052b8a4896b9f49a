import {
  findForeignCommits,
  writeEditedTree,
  type ForeignCommit,
} from "./branch.js";
import { gitOutput, type GitRunner } from "./git.js";
import { planPromotion } from "./plan.js";
import { readCommitTree } from "./tree.js";

/**
 * Checks that the branch head is exactly a commit this tool would make: one
 * parent, and the tree that promoting `from` to `to` on that parent yields.
 * The trailer alone cannot tell, because `git commit --amend` keeps it
 * while a person edits the files. Returns the head as a foreign commit
 * when it differs, or null when the tool may replace it.
 */
export async function findAmendedHead(
  git: GitRunner,
  from: string,
  to: string,
  branchCommit: string,
): Promise<ForeignCommit | null> {
  const header = await gitOutput(git, [
    "show",
    "-s",
    "--format=%T%x1f%P%x1f%cn%x1f%s",
    branchCommit,
  ]);
  const [treeId = "", parents = "", committer = "", subject = ""] =
    header.split("\x1f");
  const foreign = { sha: branchCommit, author: committer, subject };
  const parentList = parents.split(" ").filter(Boolean);
  const parent = parentList[0];
  if (parentList.length !== 1 || parent === undefined) return foreign;

  // The tool commits on the base branch's head of the time, so planning on
  // the parent again reproduces the files it wrote then.
  // NOTE: a release that edits files differently makes the previous
  // release's commit look amended, so that run exits 1 once.
  const parentTree = await readCommitTree(git, parent);
  const plan = await planPromotion(git, parentTree, from, to);
  const expected = await writeEditedTree(git, parentTree, plan.files);
  return expected === treeId ? null : foreign;
}

/**
 * Lists the commits on the branch that the tool must not overwrite: those
 * without its trailer, or else the head when someone amended it.
 */
export async function findUnownedCommits(
  git: GitRunner,
  from: string,
  to: string,
  baseCommit: string,
  branchCommit: string,
): Promise<ForeignCommit[]> {
  const foreign = await findForeignCommits(git, baseCommit, branchCommit);
  if (foreign.length > 0) return foreign;
  const amended = await findAmendedHead(git, from, to, branchCommit);
  return amended ? [amended] : [];
}
