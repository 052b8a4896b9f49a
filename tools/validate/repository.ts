import { execFile } from "node:child_process";
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  type Dirent,
  readSync,
} from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { UsageError } from "../lib/errors.js";
import { SourceIgnore } from "./source-ignore.js";
import {
  MAX_FILE_BYTES,
  parseYaml,
  unreadableProblem,
  type ParsedYaml,
  type YamlDocument,
  type YamlProblem,
} from "./yaml-docs.js";

const execFileAsync = promisify(execFile);

/**
 * A YAML file of the validated tree. Its text is read when the tree is
 * loaded; it is parsed the first time its documents or problems are asked
 * for. Builds can then start once the files they read are parsed, and the
 * rest of the tree is parsed while kustomize runs.
 */
export class SourceFile {
  /** Path relative to the root, with forward slashes. */
  readonly path: string;
  private readonly text: string;
  private readonly bytes: number;
  /** The error code of a failed open, such as EACCES. */
  private readonly readError: string | undefined;
  private result: ParsedYaml | undefined;

  constructor(path: string, text: string, bytes: number, readError?: string) {
    this.path = path;
    this.text = text;
    this.bytes = bytes;
    this.readError = readError;
  }

  get documents(): YamlDocument[] {
    return this.parse().documents;
  }

  get problems(): YamlProblem[] {
    return this.parse().problems;
  }

  /** True for a file with no document and no problem, e.g. only comments. */
  get empty(): boolean {
    const { documents, problems } = this.parse();
    return documents.length === 0 && problems.length === 0;
  }

  /**
   * False only when no document of the file can have `word` in any key or
   * value, so a search for one kind can skip parsing the file. A YAML
   * scalar contains its words as written, unless a double-quoted scalar
   * spells one with a backslash escape. Aliases repeat text of the same file.
   */
  mayContain(word: string): boolean {
    return this.text.includes(word) || this.text.includes("\\");
  }

  /** Parses the file unless it is parsed already. */
  parse(): ParsedYaml {
    this.result ??= this.readError
      ? { documents: [], problems: [unreadableProblem(this.readError)] }
      : this.bytes === 0
        ? { documents: [], problems: [] }
        : parseYaml(this.text, this.bytes);
    return this.result;
  }
}

/** Every YAML file of the tree, keyed by its relative path. */
export interface SourceTree {
  root: string;
  files: Map<string, SourceFile>;
  /** Patterns of files Flux leaves out of its artifact, absent from `files`. */
  ignore?: SourceIgnore;
  /** Symbolic links, which Flux leaves out of the artifact too. */
  links?: Set<string>;
}

const YAML_FILE = /\.ya?ml$/i;

/** YAML files, and `Kustomization`, a kustomization name without extension. */
function isManifestFile(file: string): boolean {
  return YAML_FILE.test(file) || path.posix.basename(file) === "Kustomization";
}

const ALWAYS_SKIPPED = new Set([".git", "node_modules"]);

/**
 * Lists the YAML files git would track under `root`: tracked and untracked
 * files minus ignored ones. Outside a git work tree it walks the folder,
 * skipping .git and node_modules.
 */
export async function listYamlFiles(
  root: string,
): Promise<{ yaml: string[]; sourceIgnores: string[]; links: Set<string> }> {
  const info = await stat(root).catch((error: unknown) => {
    throw new UsageError(
      `cannot read ${root}: it does not exist or is not readable`,
      {
        cause: error,
      },
    );
  });
  if (!info.isDirectory()) {
    throw new UsageError(
      `${root} is not a directory; pass the root of a Flux repository`,
    );
  }

  const { files, links } = (await listWithGit(root)) ?? (await walk(root));
  // source-controller leaves symbolic links out of the artifact it builds.
  const regular = files.filter((file) => !links.has(file));
  return {
    yaml: regular.filter(isManifestFile).sort(),
    sourceIgnores: regular.filter(
      (file) => path.posix.basename(file) === ".sourceignore",
    ),
    links,
  };
}

/** Files of the work tree, and the symbolic links among them. */
interface Listing {
  files: string[];
  links: Set<string>;
}

/**
 * Lists files with git. With `-s`, tracked entries carry their mode, and
 * 120000 marks a symbolic link; untracked entries come as bare paths.
 */
async function listWithGit(root: string): Promise<Listing | undefined> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(
      "git",
      [
        "-C",
        root,
        "ls-files",
        "-z",
        "-s",
        "--cached",
        "--others",
        "--exclude-standard",
      ],
      {
        maxBuffer: 256 * 1024 * 1024,
        // English messages, so "not a git repository" is recognised below.
        env: { ...process.env, LC_ALL: "C", LANGUAGE: "" },
      },
    ));
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    // Not a git work tree, or git is missing: fall back to walking.
    if (
      failure.code === "ENOENT" ||
      /not a git repository/i.test(failure.stderr ?? "")
    )
      return undefined;
    // Any other refusal, such as "dubious ownership" in a CI container,
    // would silently change which files are read.
    const reason = (failure.stderr ?? failure.message).trim().split("\n")[0];
    throw new UsageError(
      `git cannot list the files of ${root}: ${reason}; fix git's complaint (for dubious ownership: git config --global --add safe.directory ${root}), so that git-ignored files stay out of the check`,
      { cause: error },
    );
  }
  const files: string[] = [];
  const links = new Set<string>();
  for (const entry of stdout.split("\0")) {
    if (entry === "") continue;
    const tab = entry.indexOf("\t");
    const tracked =
      tab !== -1 && /^\d{6} [0-9a-f]+ \d$/.test(entry.slice(0, tab));
    const file = tracked ? entry.slice(tab + 1) : entry;
    if (file.split("/").some((part) => ALWAYS_SKIPPED.has(part))) continue;
    // A file with a conflict is listed once per stage.
    if (tracked && files[files.length - 1] === file) continue;
    files.push(file);
    const link = tracked
      ? entry.startsWith("120000 ")
      : isSymbolicLink(path.join(root, file));
    if (link) links.add(file);
  }
  return { files, links };
}

function isSymbolicLink(absolute: string): boolean {
  try {
    return lstatSync(absolute).isSymbolicLink();
  } catch {
    return false;
  }
}

async function walk(
  root: string,
  prefix = "",
  links = new Set<string>(),
): Promise<Listing> {
  // Synchronous: one readdir per folder, with no promise per entry.
  let entries: Dirent[];
  try {
    entries = readdirSync(path.join(root, prefix), { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
    throw new UsageError(
      `cannot read the folder ${path.join(root, prefix)} (${code}); give the user running the validator read access to the whole repository`,
      { cause: error },
    );
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (ALWAYS_SKIPPED.has(entry.name)) continue;
    const relative = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory())
      files.push(...(await walk(root, relative, links)).files);
    else if (entry.isFile()) files.push(relative);
    else if (entry.isSymbolicLink()) links.add(relative);
  }
  return { files, links };
}

/** Reads every YAML file of the tree; each is parsed when first used. */
export async function loadTree(root: string): Promise<SourceTree> {
  // listYamlFiles returns sorted paths, so the map keeps that order.
  const { yaml, sourceIgnores, links } = await listYamlFiles(root);
  const files = new Map<string, SourceFile>();
  for (const relative of yaml) {
    const file = readManifestFile(path.join(root, relative));
    // An oversized file comes back without its text and fails on its size.
    if (file)
      files.set(
        relative,
        new SourceFile(relative, file.text, file.bytes, file.error),
      );
  }
  const ignore = new SourceIgnore(root, sourceIgnores, specIgnoreOf(files));
  for (const relative of files.keys()) {
    if (ignore.ignores(relative)) files.delete(relative);
  }
  return { root, files, ignore, links };
}

/**
 * Returns the `spec.ignore` of the GitRepositories named flux-system, the source
 * `flux bootstrap` creates for this repository. Used only when all of them
 * agree, since each cluster's source-controller applies its own.
 */
function specIgnoreOf(files: Map<string, SourceFile>): string | undefined {
  const values = new Set<string | undefined>();
  for (const file of files.values()) {
    if (!file.mayContain("GitRepository")) continue;
    for (const document of file.documents) {
      const data = document.data as Record<string, unknown> | null;
      if (data?.kind !== "GitRepository") continue;
      const metadata = data.metadata as { name?: unknown } | undefined;
      if (metadata?.name !== "flux-system") continue;
      const spec = data.spec as { ignore?: unknown } | undefined;
      values.add(typeof spec?.ignore === "string" ? spec.ignore : undefined);
    }
  }
  return values.size === 1 ? [...values][0] : undefined;
}

/**
 * Parses files not parsed yet, in tree order, until `deadline` (a
 * performance.now() value) passes. Returns false once every file is parsed.
 */
export function parseAhead(tree: SourceTree, deadline: number): boolean {
  let pending = pendingFiles.get(tree);
  if (!pending) pendingFiles.set(tree, (pending = tree.files.values()));
  for (;;) {
    const next = pending.next();
    if (next.done) return false;
    next.value.parse();
    if (performance.now() >= deadline) return true;
  }
}

const pendingFiles = new WeakMap<SourceTree, Iterator<SourceFile>>();

/**
 * Reads a regular file as UTF-8 through one descriptor, so its size is
 * checked without a separate stat of the path (a tenth of the load time
 * on large trees). A file over MAX_FILE_BYTES comes back with its size and
 * empty text, unread. A file that exists but cannot be opened comes back
 * with the error. Returns undefined for anything that is not a regular file:
 * a folder, a pipe, a dangling or looping link, or a file deleted from the
 * work tree while git still tracks it.
 */
export function readManifestFile(
  absolute: string,
): { text: string; bytes: number; error?: string } | undefined {
  let descriptor: number;
  try {
    // Non-blocking, so a named pipe cannot stall the run at open.
    descriptor = openSync(absolute, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
    if (NOT_A_FILE.has(code)) return undefined;
    return { text: "", bytes: 0, error: code };
  }
  try {
    const info = fstatSync(descriptor);
    if (!info.isFile()) return undefined;
    if (info.size > MAX_FILE_BYTES) return { text: "", bytes: info.size };
    const buffer = Buffer.allocUnsafe(info.size);
    let length = 0;
    while (length < info.size) {
      const read = readSync(
        descriptor,
        buffer,
        length,
        info.size - length,
        null,
      );
      if (read === 0) break;
      length += read;
    }
    return { text: buffer.toString("utf8", 0, length), bytes: length };
  } finally {
    closeSync(descriptor);
  }
}

/** open() errors of paths that are not a readable regular file at all. */
const NOT_A_FILE = new Set(["ENOENT", "ENOTDIR", "ELOOP"]);

const folderIndex = new WeakMap<SourceTree, Map<string, string[]>>();

/**
 * Files of the tree under `directory` (recursively; "." for all), from an
 * index built once per tree, so a build does not scan every file.
 */
export function filesUnder(tree: SourceTree, directory: string): string[] {
  let index = folderIndex.get(tree);
  if (!index) {
    index = new Map();
    for (const file of tree.files.keys()) {
      let folder = file;
      do {
        folder = folder.includes("/")
          ? folder.slice(0, folder.lastIndexOf("/"))
          : ".";
        let list = index.get(folder);
        if (!list) index.set(folder, (list = []));
        list.push(file);
      } while (folder !== ".");
    }
    folderIndex.set(tree, index);
  }
  return index.get(directory) ?? [];
}
