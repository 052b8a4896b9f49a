import { describe, expect, test } from "vitest";
import {
  buildDsn,
  generateSecret,
  readDsnCredentials,
} from "../../bootstrap/databases/credentials.js";
import {
  adminConnectFailure,
  scrub,
  statementFailure,
} from "../../bootstrap/databases/failures.js";
import { UsageError } from "../../tools/lib/errors.js";
import {
  classifyPostgresError,
  describeCertificateError,
  parseDsn,
  redactDsn,
} from "../../tools/lib/postgres.js";

describe("generateSecret", () => {
  test("length and alphabet", () => {
    const value = generateSecret(40);
    expect(value).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  test("values differ", () => {
    expect(generateSecret(32)).not.toBe(generateSecret(32));
  });
});

describe("buildDsn", () => {
  test("service DSN with TLS and pool limits", () => {
    const dsn = buildDsn(
      {
        scheme: "cockroach",
        host: "crdb.example.internal",
        port: 26257,
        database: "hydra",
        sslMode: "verify-full",
        sslRootCert: "/etc/cockroachdb/ca.crt",
        poolLimits: true,
      },
      "hydra",
      "pa ss@word",
    );
    expect(dsn).toBe(
      "cockroach://hydra:pa%20ss%40word@crdb.example.internal:26257/hydra" +
        "?sslmode=verify-full&sslrootcert=/etc/cockroachdb/ca.crt&max_conns=20&max_idle_conns=4&max_conn_lifetime=30m",
    );
    expect(readDsnCredentials(dsn)).toEqual({
      user: "hydra",
      password: "pa ss@word",
    });
  });

  test("DSN without password has no credentials", () => {
    expect(readDsnCredentials("cockroach://hydra@host:26257/hydra")).toBeNull();
    expect(readDsnCredentials("not a url")).toBeNull();
    expect(readDsnCredentials(undefined)).toBeNull();
  });
});

describe("parseDsn", () => {
  test("CockroachDB admin URL", () => {
    const settings = parseDsn(
      "postgresql://root:s3cret@crdb.example.internal:26257/defaultdb?sslmode=verify-full&sslrootcert=/tmp/ca.crt&sslcert=/tmp/client.crt&sslkey=/tmp/client.key",
    );
    expect(settings).toMatchObject({
      host: "crdb.example.internal",
      port: 26257,
      user: "root",
      password: "s3cret",
      database: "defaultdb",
      sslMode: "verify-full",
      sslRootCert: "/tmp/ca.crt",
      sslCert: "/tmp/client.crt",
      sslKey: "/tmp/client.key",
    });
  });

  test("default ports by scheme", () => {
    expect(parseDsn("postgresql://u@h/db").port).toBe(5432);
    expect(parseDsn("cockroach://u@h/db").port).toBe(26257);
  });

  test("missing sslmode means disable", () => {
    expect(parseDsn("postgresql://u@h:1/db").sslMode).toBe("disable");
  });

  test("invalid URL error hides the password", () => {
    const dsn = "postgresql://root:TopSecret@host:notaport/db";
    expect(() => parseDsn(dsn, "--admin-dsn")).toThrow(UsageError);
    try {
      parseDsn(dsn, "--admin-dsn");
    } catch (error) {
      expect((error as Error).message).not.toContain("TopSecret");
    }
  });

  test("lone % in the password is a usage error", () => {
    const dsn = "postgresql://special:p%40ss:w%2Frd%@127.0.0.1:5432/postgres";
    expect(() => parseDsn(dsn, "CRDB_ADMIN_DSN")).toThrow(UsageError);
    try {
      parseDsn(dsn, "CRDB_ADMIN_DSN");
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain(
        "the password in CRDB_ADMIN_DSN contains a % that does not start",
      );
      expect(message).toContain("@ as %40");
      expect(message).not.toContain("p%40ss");
    }
  });

  test("invalid URL error hints at percent-encoding", () => {
    expect(() =>
      parseDsn("postgresql://root:a@b@host:notaport/db", "--admin-dsn"),
    ).toThrow(/not a valid URL .*percent-encode reserved characters/);
  });

  test("unsupported sslmode is a usage error", () => {
    expect(() => parseDsn("postgresql://u:p@h:1/db?sslmode=prefer")).toThrow(
      /sslmode=prefer/,
    );
  });

  test("wrong scheme is a usage error", () => {
    expect(() => parseDsn("mysql://u:p@h:1/db")).toThrow(/scheme "mysql:"/);
  });
});

describe("redactDsn", () => {
  test("removes password from user info and parameters", () => {
    expect(
      redactDsn(
        "postgresql://root:s3cret@h:26257/db?password=other&sslmode=disable",
      ),
    ).toBe("postgresql://root@h:26257/db?sslmode=disable");
  });

  test("unparsable URL shows nothing of it", () => {
    expect(redactDsn("root:s3cret@")).toBe("(unparsable connection URL)");
  });
});

describe("classifyPostgresError", () => {
  const cases: [string, unknown, string][] = [
    ["refused", { code: "ECONNREFUSED" }, "unreachable"],
    ["unknown host", { code: "ENOTFOUND" }, "unreachable"],
    [
      "connect timeout",
      new Error("Connection terminated due to connection timeout"),
      "unreachable",
    ],
    ["wrong password", { code: "28P01" }, "authentication"],
    [
      "host name mismatch",
      { code: "ERR_TLS_CERT_ALTNAME_INVALID" },
      "certificate",
    ],
    ["unknown CA", { code: "SELF_SIGNED_CERT_IN_CHAIN" }, "certificate"],
    [
      "no TLS",
      new Error("The server does not support SSL connections"),
      "tls-unsupported",
    ],
    ["no privilege", { code: "42501" }, "privilege"],
    ["terminated backend", { code: "57P01" }, "connection-lost"],
    [
      "closed socket",
      new Error("Connection terminated unexpectedly"),
      "connection-lost",
    ],
    [
      "closed client",
      new Error("Client was closed and is not queryable"),
      "connection-lost",
    ],
    ["syntax", { code: "42601" }, "other"],
  ];
  test.each(cases)("%s", (_name, error, expected) => {
    expect(classifyPostgresError(error)).toBe(expected);
  });
});

describe("failure messages", () => {
  const admin = parseDsn(
    "postgresql://root:AdminPass@crdb.example.internal:26257/defaultdb?sslmode=verify-full",
  );
  const shown = {
    shownDsn: redactDsn(
      "postgresql://root:AdminPass@crdb.example.internal:26257/defaultdb?sslmode=verify-full",
    ),
    source: "--admin-dsn",
  };

  test("certificate error names host and certificate names", () => {
    const error = Object.assign(
      new Error("Hostname/IP does not match certificate's altnames"),
      {
        code: "ERR_TLS_CERT_ALTNAME_INVALID",
        host: "crdb.example.internal",
        cert: {
          subject: { CN: "node" },
          subjectaltname: "DNS:localhost, DNS:cockroachdb-public",
        },
      },
    );
    const failure = adminConnectFailure(error, admin, shown);
    expect(failure.exitCode).toBe(2);
    expect(failure.message).toContain(
      'the host dialled is "crdb.example.internal"',
    );
    expect(failure.message).toContain("DNS:cockroachdb-public");
    expect(describeCertificateError(error, "crdb.example.internal")).toContain(
      "CN=node",
    );
  });

  test("server without TLS names insecure CockroachDB", () => {
    const failure = adminConnectFailure(
      new Error("The server does not support SSL connections"),
      admin,
      shown,
    );
    expect(failure.exitCode).toBe(2);
    expect(failure.message).toContain("insecure mode");
    expect(failure.message).toContain("needs a secure cluster");
  });

  test("admin denied CONNECT names the privilege", () => {
    const error = Object.assign(
      new Error('permission denied for database "hydra"'),
      { code: "42501" },
    );
    const failure = adminConnectFailure(
      error,
      { ...admin, database: "hydra" },
      shown,
    );
    expect(failure.exitCode).toBe(2);
    expect(failure.message).toContain(
      'the admin user "root" lacks the CONNECT privilege on database hydra',
    );
  });

  test("missing password says how to give one", () => {
    const failure = adminConnectFailure(
      new Error(
        "SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string",
      ),
      { ...admin, password: undefined },
      { ...shown, source: "CRDB_ADMIN_DSN" },
    );
    expect(failure.exitCode).toBe(2);
    expect(failure.message).toContain("but CRDB_ADMIN_DSN contains none");
    expect(failure.message).toContain("postgresql://USER:PASSWORD@HOST");
    expect(failure.message).not.toContain("SASL");
  });

  test("insecure password error is exit 2", () => {
    const statement = {
      shown: "CREATE USER ...",
      secrets: ["NewPass"],
      database: null,
    };
    const failure = statementFailure(
      new Error(
        "setting or updating a password is not supported in insecure mode",
      ),
      statement,
      admin,
    );
    expect(failure.exitCode).toBe(2);
    expect(failure.message).toContain("secure cluster");
  });

  test("missing privilege is exit 2 and names the admin user", () => {
    const error = Object.assign(
      new Error("user root does not have CREATEROLE privilege"),
      { code: "42501" },
    );
    const failure = statementFailure(
      error,
      {
        shown: "CREATE USER \"hydra\" WITH PASSWORD '***'",
        secrets: [],
        database: null,
      },
      admin,
    );
    expect(failure.exitCode).toBe(2);
    expect(failure.message).toContain(
      'the admin user "root" lacks a privilege',
    );
  });

  test("server error echoing a password is scrubbed", () => {
    const error = Object.assign(
      new Error(`syntax error at or near "NewPass42"`),
      { code: "42601" },
    );
    const failure = statementFailure(
      error,
      { shown: "ALTER USER ...", secrets: ["NewPass42"], database: null },
      admin,
    );
    expect(failure.exitCode).toBe(1);
    expect(failure.message).not.toContain("NewPass42");
  });

  test("scrub replaces every occurrence", () => {
    expect(scrub("a-x-a", ["a"])).toBe("***-x-***");
  });
});
