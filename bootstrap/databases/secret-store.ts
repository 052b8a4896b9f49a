import { constants } from "node:fs";
import {
  access,
  chmod,
  lstat,
  open,
  readFile,
  readdir,
  readlink,
  realpath,
  rename,
  stat,
  unlink,
} from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { EXIT_PROBLEM, ToolError, UsageError } from "../../tools/lib/errors.js";
import type {
  KubernetesClient,
  KubernetesObject,
} from "../../tools/lib/kubernetes.js";
import type { Logger } from "../../tools/lib/log.js";

/** A Secret's decoded values, as this command reads and writes them. */
export interface StoredSecret {
  name: string;
  namespace: string;
  data: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * Durable home of the generated credentials. A write replaces the keys and
 * annotations it names and keeps the others, and is atomic per Secret.
 */
export interface SecretStore {
  /** Destination of the Secrets, for logs and results. */
  readonly description: string;
  read(namespace: string, name: string): Promise<StoredSecret | null>;
  write(secret: StoredSecret): Promise<void>;
}

/** Field manager of the server-side apply requests. */
export const FIELD_MANAGER = "bootstrap-databases";

/**
 * Set on a service's Secret before this command creates the service's
 * database, so that a rerun after a crash can tell the database is its own and
 * still revokes public's default privileges on it.
 */
export const CREATED_DATABASE_ANNOTATION =
  "ory-crdb-gitops.example/created-database";

const LABELS = { "app.kubernetes.io/managed-by": FIELD_MANAGER };

interface SecretObject extends KubernetesObject {
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** Stores Secrets in a cluster through server-side apply. */
export function kubernetesSecretStore(client: KubernetesClient): SecretStore {
  return {
    description: `Kubernetes context ${client.context}`,
    async read(namespace, name) {
      const object = await client.read<SecretObject>({
        apiVersion: "v1",
        kind: "Secret",
        namespace,
        name,
      });
      return object ? decodeSecret(object) : null;
    },
    async write(secret) {
      const data = Object.fromEntries(
        Object.entries(secret.data).map(([key, value]) => [
          key,
          Buffer.from(value, "utf8").toString("base64"),
        ]),
      );
      await client.apply<SecretObject>(
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: {
            name: secret.name,
            namespace: secret.namespace,
            labels: LABELS,
            annotations: secret.annotations,
          },
          type: "Opaque",
          data,
        },
        FIELD_MANAGER,
      );
    },
  };
}

function decodeSecret(object: SecretObject): StoredSecret {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(object.data ?? {})) {
    data[key] = Buffer.from(value, "base64").toString("utf8");
  }
  Object.assign(data, object.stringData ?? {});
  return {
    name: object.metadata.name,
    namespace: object.metadata.namespace ?? "",
    data,
    annotations: { ...(object.metadata.annotations ?? {}) },
  };
}

/**
 * Stores Secrets as a multi-document YAML file of Secret manifests (mode
 * 0600) for teams that load them through their own secret store. Documents
 * other than Secrets are kept as they are. Each write replaces the file by
 * rename, so a crash leaves either the old or the new file, never half.
 * When `file` is a symbolic link, the link stays and its target is
 * replaced.
 *
 * Opening the store removes temporary files that a killed run left next
 * to the file, and sets the file's mode to 0600 when others could read it.
 * Both happen without --apply too, because both files contain passwords.
 */
export async function fileSecretStore(
  file: string,
  logger: Logger,
): Promise<SecretStore> {
  const target = await resolveLinks(file);
  await removeStaleTemporaryFiles([...new Set([file, target])], logger);
  const documents = await readManifests(file);
  await restrictMode(file, target, logger);
  try {
    await access(path.dirname(target), constants.W_OK);
  } catch (error) {
    throw new UsageError(
      `cannot write --secrets-file ${file}: folder ${path.dirname(target)} does not exist or is not writable`,
      { cause: error },
    );
  }
  const find = (namespace: string, name: string) =>
    findSecret(file, documents, namespace, name);

  return {
    description:
      target === file ? `file ${file}` : `file ${file} (a link to ${target})`,
    async read(namespace, name) {
      const index = find(namespace, name);
      const document = documents[index];
      return document ? decodeSecret(document) : null;
    },
    async write(secret) {
      const index = find(secret.namespace, secret.name);
      const previous = index >= 0 ? decodeSecret(documents[index]!) : null;
      const merged: SecretObject = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: secret.name,
          namespace: secret.namespace,
          labels: LABELS,
          annotations: { ...previous?.annotations, ...secret.annotations },
        },
        type: "Opaque",
        stringData: { ...previous?.data, ...secret.data },
      };
      if (index >= 0) documents[index] = merged;
      else documents.push(merged);
      try {
        await writeAtomically(target, documents);
      } catch (error) {
        throw new ToolError(
          `cannot write --secrets-file ${file}: ${(error as Error).message}`,
          EXIT_PROBLEM,
          { cause: error },
        );
      }
    },
  };
}

/**
 * Returns the index of the document that is Secret namespace/name, or -1.
 * Throws a UsageError when that Secret appears twice, or when a Secret of
 * that name has no or another namespace: writing a second copy would leave
 * two documents for one Secret.
 */
function findSecret(
  file: string,
  documents: SecretObject[],
  namespace: string,
  name: string,
): number {
  const named = documents.flatMap((document, index) =>
    document.kind === "Secret" && document.metadata?.name === name
      ? [{ index, namespace: document.metadata.namespace }]
      : [],
  );
  const matches = named.filter((entry) => entry.namespace === namespace);
  if (matches.length > 1) {
    throw new UsageError(
      `--secrets-file ${file} contains Secret ${namespace}/${name} ${matches.length} times (documents ${matches.map((m) => m.index + 1).join(", ")}); keep one and rerun`,
    );
  }
  if (matches.length === 1) return matches[0]!.index;
  const other = named[0];
  if (other) {
    const where = other.namespace
      ? `namespace "${other.namespace}"`
      : "no metadata.namespace";
    throw new UsageError(
      `--secrets-file ${file}: document ${other.index + 1} is Secret "${name}" with ${where}, but this environment keeps it in namespace "${namespace}". ` +
        `Set metadata.namespace: ${namespace} in that document if it is this Secret, or move the document to another file, and rerun`,
    );
  }
  return -1;
}

/** Follows symbolic links to the file they name, which may not exist yet. */
async function resolveLinks(file: string): Promise<string> {
  let current = file;
  // 40 is Linux's limit on links followed in one path lookup (MAXSYMLINKS).
  for (let hops = 0; hops < 40; hops++) {
    try {
      return await realpath(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new UsageError(
          `cannot resolve --secrets-file ${file}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    let link: string;
    try {
      link = await readlink(current);
    } catch {
      // Not a link: a file still to be created, named by the path as given.
      return current;
    }
    current = path.resolve(path.dirname(current), link);
  }
  throw new UsageError(
    `cannot resolve --secrets-file ${file}: too many levels of symbolic links`,
  );
}

/**
 * Removes `.NAME.PID.tmp` files next to each of `files`: writeAtomically
 * creates them, and a run killed mid-write leaves one behind with every
 * password in it. Only regular files owned by this user are removed, and
 * none whose process still runs, because that may be a write in progress.
 */
async function removeStaleTemporaryFiles(
  files: string[],
  logger: Logger,
): Promise<void> {
  for (const file of files) {
    const folder = path.dirname(file);
    const pattern = new RegExp(
      `^\\.${escapeRegExp(path.basename(file))}\\.(\\d+)\\.tmp$`,
    );
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      continue;
    }
    for (const name of names) {
      const pid = Number(pattern.exec(name)?.[1]);
      if (!pid) continue;
      const temporary = path.join(folder, name);
      const details = await lstat(temporary).catch(() => null);
      if (!details?.isFile() || details.uid !== process.getuid?.()) continue;
      if (pid !== process.pid && processRuns(pid)) {
        logger.warn(
          `kept ${temporary}: process ${pid}, which may be writing it, still runs`,
        );
        continue;
      }
      await unlink(temporary).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
      logger.warn(
        `removed ${temporary}, a temporary copy of --secrets-file with passwords in it, left by an interrupted run (process ${pid})`,
      );
    }
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Sets an existing secrets file to mode 0600 when group or others have any
 * access, and warns, because they may have read the passwords.
 */
async function restrictMode(
  file: string,
  target: string,
  logger: Logger,
): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(target)).mode & 0o777;
  } catch {
    return;
  }
  if ((mode & 0o077) === 0) return;
  try {
    await chmod(target, 0o600);
  } catch (error) {
    throw new UsageError(
      `--secrets-file ${file} has mode ${mode.toString(8).padStart(4, "0")}, so other users can read its passwords, and setting 0600 failed: ${(error as Error).message}. ` +
        `Run "chmod 600 ${target}" as its owner and rerun`,
      { cause: error },
    );
  }
  logger.warn(
    `--secrets-file ${file} had mode ${mode.toString(8).padStart(4, "0")}, so other users could read its passwords; set it to 0600. ` +
      "If someone else may have read it, rotate the passwords with --rotate-passwords",
  );
}

async function readManifests(file: string): Promise<SecretObject[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new UsageError(
      `cannot read --secrets-file ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const documents: SecretObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if ("errors" in document && document.errors.length > 0) {
      // Never echo the file's text, because it contains secrets.
      throw new UsageError(
        `--secrets-file ${file} is not valid YAML (${document.errors[0]?.code}); fix or move it and rerun`,
      );
    }
    const value = document.toJS() as SecretObject | null;
    if (value) documents.push(value);
  }
  return documents;
}

async function writeAtomically(
  file: string,
  documents: SecretObject[],
): Promise<void> {
  const text = documents.map((document) => stringify(document)).join("---\n");
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.tmp`,
  );
  await unlink(temporary).catch(() => {});
  const handle = await open(temporary, "wx", 0o600);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  // The rename is durable only once the folder's entry is on disk.
  const folder = await open(path.dirname(file), "r");
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
