import { constants } from "node:fs";
import { access, open, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { EXIT_PROBLEM, ToolError, UsageError } from "../../tools/lib/errors.js";
import type {
  KubernetesClient,
  KubernetesObject,
} from "../../tools/lib/kubernetes.js";

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
 */
export async function fileSecretStore(file: string): Promise<SecretStore> {
  const documents = await readManifests(file);
  try {
    await access(path.dirname(file), constants.W_OK);
  } catch (error) {
    throw new UsageError(
      `cannot write --secrets-file ${file}: folder ${path.dirname(file)} does not exist or is not writable`,
      { cause: error },
    );
  }
  const find = (namespace: string, name: string) =>
    documents.findIndex(
      (document) =>
        document.kind === "Secret" &&
        document.metadata?.name === name &&
        (document.metadata.namespace ?? "") === namespace,
    );

  return {
    description: `file ${file}`,
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
        await writeAtomically(file, documents);
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
