import { describe, expect, test } from "vitest";
import { cockroachDialect } from "../../bootstrap/databases/dialect.js";
import type {
  DatabaseState,
  ServerState,
} from "../../bootstrap/databases/inspect.js";
import {
  decidePassword,
  type PasswordFacts,
} from "../../bootstrap/databases/passwords.js";
import { buildPlan, type PlanInput } from "../../bootstrap/databases/plan.js";
import {
  CREATED_DATABASE_ANNOTATION,
  type StoredSecret,
} from "../../bootstrap/databases/secret-store.js";
import {
  parseRegenerateAppSecrets,
  resolveRotationUsers,
  takeRotationRequest,
} from "../../bootstrap/databases/options.js";
import { renderText } from "../../bootstrap/databases/report.js";
import {
  planRotations,
  ROTATION_ANNOTATION,
  ROTATION_USERS_ANNOTATION,
} from "../../bootstrap/databases/rotation.js";
import { resolveTargets } from "../../bootstrap/databases/targets.js";
import {
  parseEnvironment,
  type Environment,
} from "../../tools/lib/environment.js";
import { UsageError } from "../../tools/lib/errors.js";

const dialect = cockroachDialect(
  "CockroachDB CCL v24.1.4 (x86_64-pc-linux-gnu)",
);

const FACTS: PasswordFacts = {
  user: "hydra",
  secretLabel: "ory/hydra-db",
  userExists: true,
  storedPassword: "stored-password",
  login: "accepted",
  rotation: undefined,
};

const ROTATION = {
  id: "2025-01-02T03:04:05.678Z",
  users: ["hydra"],
  resumed: false,
};

describe("decidePassword", () => {
  test("missing user gets a new password", () => {
    const decision = decidePassword(dialect, {
      ...FACTS,
      userExists: false,
      storedPassword: undefined,
    });
    expect(decision.status).toBe("create");
    expect(decision.password).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(decision.statements[0]?.sql).toContain("CREATE USER IF NOT EXISTS");
  });

  test("missing user reuses the stored password", () => {
    const decision = decidePassword(dialect, {
      ...FACTS,
      userExists: false,
      login: undefined,
    });
    expect(decision.status).toBe("create");
    expect(decision.password).toBe("stored-password");
    expect(decision.reason).toContain("stored in Secret ory/hydra-db");
  });

  test("existing user without stored password is blocked", () => {
    const decision = decidePassword(dialect, {
      ...FACTS,
      storedPassword: undefined,
      login: undefined,
    });
    expect(decision.status).toBe("blocked");
    expect(decision.password).toBeNull();
    expect(decision.statements).toEqual([]);
    expect(decision.reason).toContain("--apply --rotate-passwords hydra ");
  });

  test("existing user without stored password rotates on request", () => {
    const decision = decidePassword(dialect, {
      ...FACTS,
      storedPassword: undefined,
      login: undefined,
      rotation: ROTATION,
    });
    expect(decision.status).toBe("change");
    expect(decision.password).toHaveLength(40);
    expect(decision.statements[0]?.sql).toContain('ALTER USER "hydra"');
    expect(decision.invalidatesRunningPods).toBe(true);
  });

  test("rejected stored password is set from the Secret", () => {
    const decision = decidePassword(dialect, { ...FACTS, login: "rejected" });
    expect(decision.status).toBe("change");
    expect(decision.password).toBe("stored-password");
    expect(decision.invalidatesRunningPods).toBe(true);
  });

  test("rotation replaces a rejected stored password", () => {
    const decision = decidePassword(dialect, {
      ...FACTS,
      login: "rejected",
      rotation: ROTATION,
    });
    expect(decision.status).toBe("change");
    expect(decision.password).not.toBe("stored-password");
  });

  test("accepted stored password with rotation", () => {
    const decision = decidePassword(dialect, { ...FACTS, rotation: ROTATION });
    expect(decision.status).toBe("change");
    expect(decision.password).not.toBe("stored-password");
  });

  test("resumed rotation names its start", () => {
    const decision = decidePassword(dialect, {
      ...FACTS,
      rotation: { ...ROTATION, resumed: true },
    });
    expect(decision.status).toBe("change");
    expect(decision.reason).toContain(
      "finishes the rotation started 2025-01-02T03:04:05.678Z",
    );
  });

  test("rotation of a missing user creates it anew", () => {
    const decision = decidePassword(dialect, {
      ...FACTS,
      userExists: false,
      login: undefined,
      rotation: ROTATION,
    });
    expect(decision.status).toBe("create");
    expect(decision.password).not.toBe("stored-password");
  });

  test("accepted stored password, no rotation", () => {
    const decision = decidePassword(dialect, FACTS);
    expect(decision.status).toBe("exists");
    expect(decision.password).toBe("stored-password");
    expect(decision.statements).toEqual([]);
  });
});

const MODEL = `name: prod
tier: production
promotesTo: null
aws: { region: eu-west-1, zones: [eu-west-1a, eu-west-1b, eu-west-1c] }
clusters: { ory: prod-ory, crdb: prod-crdb }
cockroachdb:
  mode: in-cluster
  host: cockroachdb.prod.example.internal
  port: 26257
  tls: { mode: verify-full, caSecret: { name: crdb-ca, key: ca.crt }, caPath: /etc/crdb/ca.crt }
ory:
  namespace: ory
  endpoints:
    hydraPublic: { service: hydra-public, port: 4444, url: null, exposure: internet }
    hydraAdmin: { service: hydra-admin, port: 4445, url: null, exposure: internal }
    kratosPublic: { service: kratos-public, port: 4433, url: null, exposure: internet }
    kratosAdmin: { service: kratos-admin, port: 4434, url: null, exposure: internal }
    ketoRead: { service: keto-read, port: 4466, url: null, exposure: internal }
    ketoWrite: { service: keto-write, port: 4467, url: null, exposure: internal }
secrets:
  - { name: hydra-db, namespace: ory, keys: [dsn, secretsSystem, secretsCookie], createdBy: bootstrap-databases }
  - { name: kratos-db, namespace: ory, keys: [dsn, secretsDefault, secretsCookie, secretsCipher], createdBy: bootstrap-databases }
  - { name: keto-db, namespace: ory, keys: [dsn], createdBy: bootstrap-databases }
  - { name: smoke-db, namespace: ory, keys: [dsn], createdBy: bootstrap-databases }
  - { name: crdb-ca, namespace: ory, keys: [ca.crt], createdBy: bootstrap-databases }
databases:
  hydra: { database: hydra, user: hydra, secret: hydra-db }
  kratos: { database: kratos, user: kratos, secret: kratos-db }
  keto: { database: keto, user: keto, secret: keto-db }
smoke:
  readOnly: true
  sqlUser: ory_smoke
  sqlSecret: smoke-db
  ketoNamespace: smoke
  fixtures:
    hydraClientId: smoke
    hydraClientSecretEnv: SMOKE_SECRET
    ketoTuple: { namespace: smoke, object: o, relation: r, subjectId: s }
`;

function model(edit: (text: string) => string = (text) => text): Environment {
  const { environment, problems } = parseEnvironment(
    edit(MODEL),
    "environments/prod/environment.yaml",
  );
  if (!environment) throw new Error(JSON.stringify(problems));
  return environment;
}

const EMPTY_DATABASE: DatabaseState = {
  grants: [{ grantee: "public", privilege: "CONNECT" }],
  schemaGrants: [
    { grantee: "public", privilege: "CREATE" },
    { grantee: "public", privilege: "USAGE" },
  ],
  defaultTableGrants: [],
  tables: [],
  tableGrants: [],
};

function input(overrides: Partial<PlanInput> = {}): PlanInput {
  const state: ServerState = {
    roles: new Set(),
    databases: new Map(),
    logins: new Map(),
    memberships: [],
  };
  return {
    dialect,
    targets: resolveTargets(model(), { secretsFile: false }),
    state,
    stored: new Map(),
    rotatePasswords: [],
    regenerateAppSecrets: new Set(),
    caCertificate:
      "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n",
    ...overrides,
  };
}

function item(plan: ReturnType<typeof buildPlan>, subject: string) {
  const found = plan.items.find((entry) => entry.subject === subject);
  if (!found) throw new Error(`no item "${subject}"`);
  return found;
}

describe("buildPlan", () => {
  test("empty CockroachDB cluster: everything is created", () => {
    const plan = buildPlan(input());
    expect(item(plan, "database hydra").statements[0]?.sql).toBe(
      'CREATE DATABASE IF NOT EXISTS "hydra"',
    );
    expect(
      item(plan, "public has no CREATE on schema hydra.public").status,
    ).toBe("change");
    expect(item(plan, "public has no CONNECT on database hydra").status).toBe(
      "change",
    );
    expect(
      plan.items
        .filter((entry) => entry.status === "exists")
        .map((entry) => entry.subject),
    ).toEqual([
      "ory_smoke has SELECT on tables in hydra.public",
      "ory_smoke has SELECT on tables in kratos.public",
      "ory_smoke has SELECT on tables in keto.public",
    ]);
  });

  test("production DSN verifies the server", () => {
    const plan = buildPlan(input());
    const dsn = new URL(
      item(plan, "Secret ory/hydra-db").secret?.data.dsn ?? "",
    );
    expect(dsn.protocol).toBe("cockroach:");
    expect(dsn.host).toBe("cockroachdb.prod.example.internal:26257");
    expect(dsn.searchParams.get("sslmode")).toBe("verify-full");
    expect(dsn.searchParams.get("sslrootcert")).toBe("/etc/crdb/ca.crt");
  });

  test("new database is marked before it exists", () => {
    const plan = buildPlan(input());
    const secret = item(plan, "Secret ory/kratos-db").secret;
    expect(secret?.annotations[CREATED_DATABASE_ANNOTATION]).toBe("kratos");
  });

  test("database not created here is a finding", () => {
    const databases = new Map([["hydra", EMPTY_DATABASE]]);
    const plan = buildPlan(
      input({
        state: {
          roles: new Set(),
          databases,
          logins: new Map(),
          memberships: [],
        },
      }),
    );
    const connect = item(plan, "public has no CONNECT on database hydra");
    expect(connect.status).toBe("finding");
    expect(connect.statements).toEqual([]);
    expect(connect.reason).toContain(
      'REVOKE CONNECT ON DATABASE "hydra" FROM public',
    );
    expect(
      item(plan, "public has no CREATE on schema hydra.public").status,
    ).toBe("finding");
  });

  test("database marked in its Secret is revoked on", () => {
    const databases = new Map([["hydra", EMPTY_DATABASE]]);
    const stored = new Map<string, StoredSecret | null>([
      [
        "ory/hydra-db",
        {
          name: "hydra-db",
          namespace: "ory",
          data: {},
          annotations: { [CREATED_DATABASE_ANNOTATION]: "hydra" },
        },
      ],
    ]);
    const plan = buildPlan(
      input({
        state: {
          roles: new Set(),
          databases,
          logins: new Map(),
          memberships: [],
        },
        stored,
      }),
    );
    expect(item(plan, "public has no CONNECT on database hydra").status).toBe(
      "change",
    );
    expect(
      item(plan, "public has no CREATE on schema hydra.public").status,
    ).toBe("change");
  });

  test("stored application secrets are kept", () => {
    const stored = new Map<string, StoredSecret | null>([
      [
        "ory/kratos-db",
        {
          name: "kratos-db",
          namespace: "ory",
          data: { secretsCipher: "short", secretsDefault: "kept-default" },
          annotations: {},
        },
      ],
    ]);
    const plan = buildPlan(input({ stored, rotatePasswords: ["kratos"] }));
    const secret = item(plan, "Secret ory/kratos-db");
    expect(secret.status).toBe("change");
    expect(secret.secret?.data.secretsCipher).toBe("short");
    expect(secret.secret?.data.secretsDefault).toBe("kept-default");
    expect(secret.secret?.data.secretsCookie).toHaveLength(32);
    expect(plan.warnings.join("\n")).toContain(
      "secretsCipher is 5 characters, but kratos needs exactly 32",
    );
  });

  test("blocked user blocks its Secret", () => {
    const plan = buildPlan(
      input({
        state: {
          roles: new Set(["keto"]),
          databases: new Map(),
          logins: new Map(),
          memberships: [],
        },
      }),
    );
    expect(item(plan, "user keto").status).toBe("blocked");
    const secret = item(plan, "Secret ory/keto-db");
    expect(secret.status).toBe("blocked");
    expect(secret.secret).toBeUndefined();
  });

  test("CA Secret without a certificate is blocked", () => {
    const plan = buildPlan(input({ caCertificate: undefined }));
    const ca = item(plan, "Secret ory/crdb-ca");
    expect(ca.status).toBe("blocked");
    expect(ca.reason).toContain("--ca-cert");
  });

  test("CA Secret stored and none given exists", () => {
    const stored = new Map<string, StoredSecret | null>([
      [
        "ory/crdb-ca",
        {
          name: "crdb-ca",
          namespace: "ory",
          data: { "ca.crt": "PEM" },
          annotations: {},
        },
      ],
    ]);
    const plan = buildPlan(input({ caCertificate: undefined, stored }));
    expect(item(plan, "Secret ory/crdb-ca").status).toBe("exists");
  });

  test("different CA given changes the Secret", () => {
    const stored = new Map<string, StoredSecret | null>([
      [
        "ory/crdb-ca",
        {
          name: "crdb-ca",
          namespace: "ory",
          data: { "ca.crt": "OLD" },
          annotations: {},
        },
      ],
    ]);
    const plan = buildPlan(input({ stored }));
    expect(item(plan, "Secret ory/crdb-ca").status).toBe("change");
  });

  test("no plan item carries a password outside statements", () => {
    const plan = buildPlan(input());
    const passwords = [...plan.passwords.values()];
    for (const entry of plan.items) {
      const visible = JSON.stringify({
        ...entry,
        statements: entry.statements.map((s) => s.shown),
        secret: undefined,
      });
      for (const password of passwords) expect(visible).not.toContain(password);
    }
  });
});

describe("resolveTargets", () => {
  test("external Secret needs --secrets-file", () => {
    const environment = model((text) =>
      text.replace(
        "keys: [dsn], createdBy: bootstrap-databases }\n  - { name: smoke-db",
        "keys: [dsn], createdBy: external }\n  - { name: smoke-db",
      ),
    );
    expect(() => resolveTargets(environment, { secretsFile: false })).toThrow(
      UsageError,
    );
    expect(() =>
      resolveTargets(environment, { secretsFile: true }),
    ).not.toThrow();
  });

  test("external CA Secret is left to the team", () => {
    const environment = model((text) =>
      text.replace(
        "keys: [ca.crt], createdBy: bootstrap-databases",
        "keys: [ca.crt], createdBy: external",
      ),
    );
    const targets = resolveTargets(environment, { secretsFile: false });
    expect(targets.ca).toBeNull();
    expect(targets.warnings.join("\n")).toContain(
      "leaves it to your secret store",
    );
  });

  test("shared user is a usage error", () => {
    const environment = model((text) =>
      text.replace(
        "keto: { database: keto, user: keto",
        "keto: { database: keto, user: hydra",
      ),
    );
    expect(() => resolveTargets(environment, { secretsFile: false })).toThrow(
      /user "hydra" is used twice/,
    );
  });

  test("declared key the command does not write is a warning", () => {
    const environment = model((text) =>
      text.replace(
        "keys: [dsn], createdBy: bootstrap-databases }\n  - { name: smoke-db",
        "keys: [dsn, extra], createdBy: bootstrap-databases }\n  - { name: smoke-db",
      ),
    );
    const targets = resolveTargets(environment, { secretsFile: false });
    expect(targets.warnings.join("\n")).toContain(
      'Secret "keto-db" declares keys extra',
    );
  });

  test("production without caPath is a usage error", () => {
    const environment = model((text) =>
      text.replace("caPath: /etc/crdb/ca.crt", "caPath: null"),
    );
    expect(() => resolveTargets(environment, { secretsFile: false })).toThrow(
      /caPath is null/,
    );
  });
});

function stateWith(overrides: Partial<ServerState>): ServerState {
  return {
    roles: new Set(),
    databases: new Map(),
    logins: new Map(),
    memberships: [],
    ...overrides,
  };
}

const HYDRA_SECRET: StoredSecret = {
  name: "hydra-db",
  namespace: "ory",
  data: {
    dsn: "cockroach://hydra:stored-password@h:26257/hydra",
    secretsCookie: "kept-cookie",
  },
  annotations: { [CREATED_DATABASE_ANNOTATION]: "hydra" },
};

describe("application secrets in use", () => {
  const inUse = () =>
    input({
      state: stateWith({
        roles: new Set(["hydra"]),
        databases: new Map([["hydra", EMPTY_DATABASE]]),
        logins: new Map([["hydra", "accepted" as const]]),
      }),
      stored: new Map([["ory/hydra-db", HYDRA_SECRET]]),
    });

  test("missing key of a used database is blocked", () => {
    const secret = item(buildPlan(inUse()), "Secret ory/hydra-db");
    expect(secret.status).toBe("blocked");
    expect(secret.secret).toBeUndefined();
    expect(secret.reason).toContain(
      "lacks secretsSystem, but database hydra already exists",
    );
    expect(secret.reason).toContain(
      "--regenerate-app-secrets hydra.secretsSystem ",
    );
  });

  test("named key is regenerated and others kept", () => {
    const plan = buildPlan({
      ...inUse(),
      regenerateAppSecrets: new Set(["hydra.secretsSystem"]),
    });
    const secret = item(plan, "Secret ory/hydra-db");
    expect(secret.status).toBe("change");
    expect(secret.secret?.data.secretsSystem).toHaveLength(32);
    expect(secret.secret?.data.secretsCookie).toBe("kept-cookie");
    expect(plan.restarts).toEqual(["hydra"]);
  });

  test("existing user alone also blocks", () => {
    const plan = buildPlan(
      input({ state: stateWith({ roles: new Set(["kratos"]) }) }),
    );
    expect(item(plan, "Secret ory/kratos-db").reason).toContain(
      "user kratos already exists",
    );
  });

  test("blocked Secret blocks the user and its grants", () => {
    const databases = new Map([["hydra", EMPTY_DATABASE]]);
    const plan = buildPlan(input({ state: stateWith({ databases }) }));
    expect(item(plan, "user hydra").status).toBe("blocked");
    expect(item(plan, "hydra has ALL on database hydra").status).toBe(
      "blocked",
    );
    expect(
      item(
        plan,
        "ory_smoke has SELECT on tables that hydra creates later in hydra",
      ).status,
    ).toBe("blocked");
    expect(plan.passwords.has("hydra")).toBe(false);
  });

  test("regenerate names are checked", () => {
    expect([...parseRegenerateAppSecrets(["kratos"])]).toEqual([
      "kratos.secretsDefault",
      "kratos.secretsCookie",
      "kratos.secretsCipher",
    ]);
    expect(() => parseRegenerateAppSecrets(["keto.dsn"])).toThrow(
      /use SERVICE.KEY or SERVICE from: hydra.secretsSystem/,
    );
  });
});

describe("cross-service privileges", () => {
  test("grant to another service user is a finding", () => {
    const databases = new Map([
      [
        "kratos",
        {
          ...EMPTY_DATABASE,
          grants: [
            { grantee: "hydra", privilege: "CONNECT" },
            { grantee: "ory_smoke", privilege: "CONNECT" },
            { grantee: "ory_smoke", privilege: "CREATE" },
          ],
          tableGrants: [
            { table: "identities", grantee: "keto", privilege: "SELECT" },
            { table: "identities", grantee: "ory_smoke", privilege: "SELECT" },
          ],
        },
      ],
    ]);
    const plan = buildPlan(
      input({
        state: stateWith({
          databases,
          memberships: [{ role: "kratos", member: "keto" }],
        }),
      }),
    );
    const hydra = item(plan, "hydra has no CONNECT on database kratos");
    expect(hydra.status).toBe("finding");
    expect(hydra.statements).toEqual([]);
    expect(hydra.reason).toContain(
      'REVOKE CONNECT ON DATABASE "kratos" FROM "hydra"',
    );
    expect(
      item(plan, "ory_smoke has no CREATE on database kratos").status,
    ).toBe("finding");
    expect(
      item(plan, "keto has no privileges on tables in kratos.public").reason,
    ).toContain('REVOKE SELECT ON TABLE public."identities" FROM "keto"');
    expect(item(plan, "keto is not a member of role kratos").reason).toContain(
      'REVOKE "kratos" FROM "keto"',
    );
    expect(
      plan.items.some(
        (entry) =>
          entry.status === "finding" &&
          entry.subject.startsWith("ory_smoke has no CONNECT"),
      ),
    ).toBe(false);
  });
});

describe("planRotations", () => {
  const started = "2025-01-02T03:04:05.678Z";
  const recorded = {
    [ROTATION_ANNOTATION]: started,
    [ROTATION_USERS_ANNOTATION]: "hydra,kratos,ory_smoke",
  };

  test("unreached users of a recorded rotation resume", () => {
    const rotations = planRotations(
      [],
      new Date(),
      new Map<string, Record<string, string> | undefined>([
        ["hydra", recorded],
        ["kratos", {}],
        ["keto", {}],
        ["ory_smoke", undefined],
      ]),
      [],
    );
    expect([...rotations.keys()].sort()).toEqual(["kratos", "ory_smoke"]);
    expect(rotations.get("kratos")).toEqual({
      id: started,
      users: ["hydra", "kratos", "ory_smoke"],
      resumed: true,
    });
  });

  test("finished rotation resumes nothing", () => {
    const rotations = planRotations(
      [],
      new Date(),
      new Map([
        ["hydra", recorded],
        ["kratos", recorded],
        ["ory_smoke", recorded],
      ]),
      [],
    );
    expect(rotations.size).toBe(0);
  });

  test("new rotation sorts after a recorded one", () => {
    const rotations = planRotations(
      ["keto"],
      new Date("2024-12-31T00:00:00.000Z"),
      new Map([
        ["hydra", { ...recorded, [ROTATION_USERS_ANNOTATION]: "hydra" }],
      ]),
      [],
    );
    expect(rotations.get("keto")?.id).toBe("2025-01-02T03:04:05.679Z");
  });

  test("invalid annotation is a warning", () => {
    const warnings: string[] = [];
    const rotations = planRotations(
      [],
      new Date(),
      new Map([["hydra", { [ROTATION_ANNOTATION]: "yesterday" }]]),
      warnings,
    );
    expect(rotations.size).toBe(0);
    expect(warnings.join("\n")).toContain("invalid");
  });
});

describe("--rotate-passwords forms", () => {
  const targets = resolveTargets(model(), { secretsFile: false });
  const parse = (argv: string[]) => {
    const { parsed, rotation } = takeRotationRequest(argv, (rest) => ({
      positionals: rest.filter((token) => !token.startsWith("-")),
    }));
    return {
      positionals: parsed.positionals,
      users: resolveRotationUsers(rotation, targets),
    };
  };
  const all = ["hydra", "kratos", "keto", "ory_smoke"];

  test.each([
    [["prod", "--rotate-passwords"], ["prod"], all],
    [["--rotate-passwords", "prod"], ["prod"], all],
    [["prod", "--rotate-passwords", "hydra"], ["prod"], ["hydra"]],
    [
      ["prod", "--rotate-passwords=hydra,ory_smoke"],
      ["prod"],
      ["hydra", "ory_smoke"],
    ],
    [["--rotate-passwords", "kratos", "prod", "--apply"], ["prod"], ["kratos"]],
    [["prod", "--apply"], ["prod"], []],
  ])("%j", (argv, positionals, users) => {
    expect(parse(argv)).toEqual({ positionals, users });
  });

  test("unknown name is a usage error", () => {
    expect(() => parse(["prod", "--rotate-passwords=hydar"])).toThrow(
      /names "hydar", which is neither a user/,
    );
  });
});

describe("summary line", () => {
  test("blocked items come first", () => {
    const plan = buildPlan(
      input({ state: stateWith({ roles: new Set(["keto"]) }) }),
    );
    const text = renderText({
      environment: "prod",
      server: {
        dialect: "cockroachdb",
        version: "CockroachDB v24.1",
        endpoint: "h:26257",
      },
      secretStore: "file x",
      applied: false,
      items: plan.items.filter(
        (entry) => entry.status !== "create" && entry.status !== "change",
      ),
      checks: [],
      restarts: [],
      warnings: [],
    });
    expect(text.trim().split("\n").at(-1)).toMatch(
      /^2 items blocked; see above\. Nothing else to do: \d+ items exist\.$/,
    );
  });
});
