import { createHash, randomUUID } from "node:crypto";
import pg from "pg";
import {
  ADMIN_PASSWORD,
  ADMIN_USER,
  startPostgres,
  type TestPostgres,
} from "../databases/helpers.js";
import type { StoredClient } from "./stand-ins/hydra.js";
import type { Tuple } from "./stand-ins/keto.js";
import type { StoredIdentity } from "./stand-ins/kratos.js";
import type { OryStandInOptions } from "./stand-ins/ory.js";

export const SMOKE_USER = "ory_smoke";
const SMOKE_PASSWORD = "smoke-password-for-tests";
const NETWORK_ID = "6f3c2b1a-0000-4000-8000-000000000001";

// The tables and columns the SQL checks read, as Ory's migrations (v26.2)
// create them. Columns the checks never read are left out.
const COMMON = `
  CREATE TABLE networks (id UUID PRIMARY KEY, created_at TIMESTAMP NOT NULL DEFAULT now());
  INSERT INTO networks (id) VALUES ('${NETWORK_ID}');
  CREATE TABLE schema_migration (version VARCHAR(48) NOT NULL, version_self INT NOT NULL DEFAULT 0);
  INSERT INTO schema_migration (version) VALUES ('20150101000001000000'), ('20240129174410000001');
`;
const SCHEMAS: Record<string, string> = {
  hydra: `${COMMON}
    CREATE TABLE hydra_client (
      id VARCHAR(255) NOT NULL, nid UUID NOT NULL REFERENCES networks (id),
      client_name TEXT NOT NULL, owner TEXT NOT NULL,
      created_at TIMESTAMP NOT NULL DEFAULT now(), PRIMARY KEY (id, nid));
    CREATE TABLE hydra_oauth2_access (
      signature VARCHAR(255) PRIMARY KEY, client_id VARCHAR(255) NOT NULL,
      nid UUID NOT NULL, requested_at TIMESTAMP NOT NULL DEFAULT now(),
      FOREIGN KEY (client_id, nid) REFERENCES hydra_client (id, nid) ON DELETE CASCADE);`,
  kratos: `${COMMON}
    CREATE TABLE identities (
      id UUID PRIMARY KEY, nid UUID NOT NULL, schema_id VARCHAR(2048) NOT NULL,
      traits JSONB NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT now());
    CREATE TABLE identity_credential_types (id UUID PRIMARY KEY, name VARCHAR(32) NOT NULL UNIQUE);
    INSERT INTO identity_credential_types (id, name)
      VALUES ('${randomUUID()}', 'password'), ('${randomUUID()}', 'oidc');
    CREATE TABLE identity_credentials (
      id UUID PRIMARY KEY, config JSONB NOT NULL, nid UUID NOT NULL,
      identity_credential_type_id UUID NOT NULL REFERENCES identity_credential_types (id),
      identity_id UUID NOT NULL REFERENCES identities (id) ON DELETE CASCADE);
    CREATE TABLE identity_credential_identifiers (
      id UUID PRIMARY KEY, identifier VARCHAR(255) NOT NULL, nid UUID NOT NULL,
      identity_credential_id UUID NOT NULL REFERENCES identity_credentials (id) ON DELETE CASCADE,
      identity_credential_type_id UUID NOT NULL);`,
  keto: `${COMMON}
    CREATE TABLE keto_uuid_mappings (id UUID PRIMARY KEY, string_representation TEXT NOT NULL);
    CREATE TABLE keto_relation_tuples (
      shard_id UUID NOT NULL, nid UUID NOT NULL, namespace VARCHAR(200) NOT NULL,
      object UUID NOT NULL, relation VARCHAR(64) NOT NULL, subject_id UUID NULL,
      subject_set_namespace VARCHAR(200) NULL, subject_set_object UUID NULL,
      subject_set_relation VARCHAR(64) NULL, commit_time TIMESTAMP NOT NULL,
      PRIMARY KEY (shard_id, nid));`,
};

export interface SmokeDatabase {
  /** The verification user's DSN; the command switches the database per service. */
  dsn: string;
  /** Copies what the Ory stand-ins store into the tables, as Ory would. */
  mirror: NonNullable<OryStandInOptions["mirror"]>;
  /** Runs one statement as the admin user. */
  sql(text: string, database: string): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL with databases hydra, kratos and keto holding the
 * tables the SQL checks read, and a read-only verification user with
 * SELECT on them, as the database bootstrap grants it.
 */
export async function startSmokeDatabase(): Promise<SmokeDatabase> {
  const server: TestPostgres = await startPostgres();
  await server.sql(
    `CREATE ROLE ${SMOKE_USER} LOGIN PASSWORD '${SMOKE_PASSWORD}'`,
  );
  const clients: Record<string, pg.Client> = {};
  for (const database of Object.keys(SCHEMAS)) {
    await server.sql(`CREATE DATABASE ${database}`);
    await server.sql(
      `${SCHEMAS[database]}
      GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${SMOKE_USER};`,
      database,
    );
    const client = new pg.Client({
      host: "127.0.0.1",
      port: server.port,
      user: ADMIN_USER,
      password: ADMIN_PASSWORD,
      database,
    });
    await client.connect();
    clients[database] = client;
  }
  const run = (database: string, text: string, params: unknown[]) =>
    clients[database]!.query(text, params);

  const mirror: SmokeDatabase["mirror"] = {
    async clientCreated(client: StoredClient) {
      await run(
        "hydra",
        "INSERT INTO hydra_client (id, nid, client_name, owner) VALUES ($1, $2, $3, $4)",
        [client.client_id, NETWORK_ID, client.client_name, client.owner],
      );
    },
    async clientDeleted(id) {
      await run("hydra", "DELETE FROM hydra_client WHERE id = $1", [id]);
    },
    async tokenIssued(signature, clientId) {
      await run(
        "hydra",
        "INSERT INTO hydra_oauth2_access (signature, client_id, nid) VALUES ($1, $2, $3)",
        [signature, clientId, NETWORK_ID],
      );
    },
    async identityCreated(identity: StoredIdentity) {
      const credential = randomUUID();
      await run(
        "kratos",
        "INSERT INTO identities (id, nid, schema_id, traits) VALUES ($1, $2, $3, $4)",
        [
          identity.id,
          NETWORK_ID,
          identity.schema_id,
          JSON.stringify(identity.traits),
        ],
      );
      await run(
        "kratos",
        `INSERT INTO identity_credentials (id, config, nid, identity_credential_type_id, identity_id)
         SELECT $1, '{}', $2, id, $3 FROM identity_credential_types WHERE name = 'password'`,
        [credential, NETWORK_ID, identity.id],
      );
      await run(
        "kratos",
        `INSERT INTO identity_credential_identifiers (id, identifier, nid, identity_credential_id, identity_credential_type_id)
         SELECT $1, $2, $3, $4, id FROM identity_credential_types WHERE name = 'password'`,
        [randomUUID(), identity.traits.email, NETWORK_ID, credential],
      );
    },
    async identityDeleted(id) {
      await run("kratos", "DELETE FROM identities WHERE id = $1", [id]);
    },
    async tupleWritten(tuple: Tuple) {
      for (const text of [tuple.object, tuple.subject_id]) {
        await run(
          "keto",
          "INSERT INTO keto_uuid_mappings (id, string_representation) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
          [mappedUuid(text), text],
        );
      }
      await run(
        "keto",
        `INSERT INTO keto_relation_tuples (shard_id, nid, namespace, object, relation, subject_id, commit_time)
         VALUES ($1, $2, $3, $4, $5, $6, now())`,
        [
          randomUUID(),
          NETWORK_ID,
          tuple.namespace,
          mappedUuid(tuple.object),
          tuple.relation,
          mappedUuid(tuple.subject_id),
        ],
      );
    },
    async tupleDeleted(tuple: Tuple) {
      await run(
        "keto",
        "DELETE FROM keto_relation_tuples WHERE namespace = $1 AND object = $2 AND relation = $3 AND subject_id = $4",
        [
          tuple.namespace,
          mappedUuid(tuple.object),
          tuple.relation,
          mappedUuid(tuple.subject_id),
        ],
      );
    },
  };

  return {
    dsn: `postgresql://${SMOKE_USER}:${SMOKE_PASSWORD}@127.0.0.1:${server.port}/hydra?sslmode=disable`,
    mirror,
    sql: (text, database) => server.sql(text, database),
    async stop() {
      await Promise.all(Object.values(clients).map((client) => client.end()));
      await server.stop();
    },
  };
}

/** Derives a name-based UUID from the network id and a string, as Keto does. */
function mappedUuid(text: string): string {
  const hex = createHash("sha1").update(NETWORK_ID).update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
