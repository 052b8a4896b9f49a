import { readFileSync } from "node:fs";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AdminConnection } from "../../bootstrap/databases/admin.js";
import { ToolError } from "../../tools/lib/errors.js";
import {
  parseDsn,
  readServerCertificateNames,
} from "../../tools/lib/postgres.js";

// fixtures/ contains test-only certificates, made once with
//   openssl req -x509 -newkey rsa:2048 -nodes -days 36500 \
//     -subj "/CN=db.test.internal" \
//     -addext "subjectAltName=DNS:db.test.internal,DNS:cockroachdb-public"
// (server.crt and server.key) and the same without -addext for an
// unrelated CA (other-ca.crt).
const fixtures = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "fixtures",
);
const serverCertificate = path.join(fixtures, "server.crt");
const otherCa = path.join(fixtures, "other-ca.crt");

/**
 * A loopback server that replies "S" to PostgreSQL's SSLRequest and then
 * completes a TLS handshake, which is all a client reaches before the
 * certificate check fails.
 */
let server: net.Server;
let port: number;

beforeAll(async () => {
  const key = readFileSync(path.join(fixtures, "server.key"));
  const cert = readFileSync(serverCertificate);
  server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", () => {
      socket.write("S");
      const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
      secure.on("error", () => {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

async function connectFailure(rootCertificate: string): Promise<ToolError> {
  const dsn = `postgresql://root:CertTestPassword@127.0.0.1:${port}/defaultdb?sslmode=verify-full&sslrootcert=${rootCertificate}`;
  try {
    await AdminConnection.open(dsn, parseDsn(dsn), "--admin-dsn");
  } catch (error) {
    if (error instanceof ToolError) return error;
    throw error;
  }
  throw new Error("expected the connection to fail");
}

describe("certificate errors", () => {
  test("unknown CA names the certificate's hosts", async () => {
    const error = await connectFailure(otherCa);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(
      `the TLS certificate of 127.0.0.1:${port} was rejected`,
    );
    expect(error.message).toContain('the host dialled is "127.0.0.1"');
    expect(error.message).toContain(
      "DNS:db.test.internal, DNS:cockroachdb-public",
    );
    expect(error.message).not.toContain("CertTestPassword");
  });

  test("host name mismatch names the certificate's hosts", async () => {
    const error = await connectFailure(serverCertificate);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("ERR_TLS_CERT_ALTNAME_INVALID");
    expect(error.message).toContain("CN=db.test.internal");
    expect(error.message).toContain("DNS:cockroachdb-public");
  });

  test("names read directly from the server", async () => {
    expect(await readServerCertificateNames("127.0.0.1", port)).toEqual([
      "CN=db.test.internal",
      "DNS:db.test.internal, DNS:cockroachdb-public",
    ]);
  });

  test("server without TLS gives no names", async () => {
    const plain = net.createServer((socket) => {
      socket.once("data", () => socket.end("N"));
    });
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    try {
      const { port: plainPort } = plain.address() as AddressInfo;
      expect(
        await readServerCertificateNames("127.0.0.1", plainPort),
      ).toBeUndefined();
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
