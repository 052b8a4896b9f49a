import { readFileSync } from "node:fs";
import path from "node:path";
import ignore, { type Ignore } from "ignore";
import { compareText } from "./findings.js";

/**
 * Patterns source-controller leaves out of every GitRepository artifact,
 * from fluxcd/pkg sourceignore (VCS, binary extensions, CI configuration
 * and a few tool files), in .gitignore syntax.
 */
export const DEFAULT_SOURCE_IGNORE = [
  ".git/",
  ".gitignore",
  ".gitmodules",
  ".gitattributes",
  "*.jpg",
  "*.jpeg",
  "*.gif",
  "*.png",
  "*.wmv",
  "*.flv",
  "*.tar.gz",
  "*.zip",
  ".github/",
  ".circleci/",
  ".travis.yml",
  ".gitlab-ci.yml",
  "appveyor.yml",
  ".drone.yml",
  "cloudbuild.yaml",
  "codeship-services.yml",
  "codeship-steps.yml",
  "**/.goreleaser.yml",
  "**/.sops.yaml",
  "**/.flux.yaml",
];

/** One set of patterns and the folder its paths are relative to. */
interface Scope {
  folder: string;
  matcher: Ignore;
}

/**
 * Decides which files Flux leaves out of the artifact it builds from this
 * repository: the defaults, every `.sourceignore` file (each applying to
 * its own folder) and a GitRepository's `spec.ignore`, later ones winning
 * as in .gitignore.
 */
export class SourceIgnore {
  private readonly scopes: Scope[] = [];

  constructor(root: string, files: readonly string[], specIgnore?: string) {
    this.scopes.push({
      folder: ".",
      matcher: ignore().add(DEFAULT_SOURCE_IGNORE),
    });
    // Shallow folders first, so a deeper .sourceignore overrides its parent.
    const ignoreFiles = files
      .filter((file) => path.posix.basename(file) === ".sourceignore")
      .sort(
        (a, b) =>
          a.split("/").length - b.split("/").length || compareText(a, b),
      );
    for (const file of ignoreFiles) {
      let text: string;
      try {
        text = readFileSync(path.join(root, file), "utf8");
      } catch {
        continue;
      }
      this.scopes.push({
        folder: path.posix.dirname(file),
        matcher: ignore().add(text),
      });
    }
    if (specIgnore !== undefined) {
      this.scopes.push({ folder: ".", matcher: ignore().add(specIgnore) });
    }
  }

  /** True when Flux leaves `file` (relative, forward slashes) out. */
  ignores(file: string): boolean {
    let ignored = false;
    for (const { folder, matcher } of this.scopes) {
      if (folder !== "." && !file.startsWith(folder + "/")) continue;
      const relative = folder === "." ? file : file.slice(folder.length + 1);
      const result = matcher.test(relative);
      if (result.ignored) ignored = true;
      else if (result.unignored) ignored = false;
    }
    return ignored;
  }
}
