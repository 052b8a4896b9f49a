import path from "node:path";
import { gitOutput, type GitRunner } from "./git.js";

/** The files of one commit, read through git without a checkout. */
export interface CommitTree {
  commit: string;
  has(file: string): boolean;
  isDirectory(folder: string): boolean;
  /** Paths of the files under `folder`, recursively. */
  filesUnder(folder: string): string[];
  read(file: string): Promise<string>;
  /** The file's mode as git stores it, e.g. 100644. */
  mode(file: string): string | undefined;
}

/** Lists every file of `commit` once; contents are read on demand. */
export async function readCommitTree(
  git: GitRunner,
  commit: string,
): Promise<CommitTree> {
  const listing = await gitOutput(git, ["ls-tree", "-r", "-z", commit]);
  const modes = new Map<string, string>();
  for (const entry of listing.split("\0")) {
    if (!entry) continue;
    // "<mode> <type> <object>\t<path>"
    const tab = entry.indexOf("\t");
    const [mode = "", type] = entry.slice(0, tab).split(" ");
    if (type === "blob") modes.set(entry.slice(tab + 1), mode);
  }
  const normalise = (file: string) =>
    path.posix.normalize(file).replace(/^\.\/|\/$/g, "");
  return {
    commit,
    has: (file) => modes.has(normalise(file)),
    isDirectory: (folder) => {
      const prefix = `${normalise(folder)}/`;
      for (const file of modes.keys()) if (file.startsWith(prefix)) return true;
      return false;
    },
    filesUnder: (folder) => {
      const prefix = `${normalise(folder)}/`;
      return [...modes.keys()].filter((file) => file.startsWith(prefix));
    },
    read: async (file) =>
      (await git.run(["show", `${commit}:${normalise(file)}`])).stdout,
    mode: (file) => modes.get(normalise(file)),
  };
}
