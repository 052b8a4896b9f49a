import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

/**
 * PostgreSQL's default `scram_iterations` and the lowest cost CockroachDB
 * accepts. The passwords this command generates are random, so a higher
 * count would slow every login without making them harder to guess.
 */
export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;

/**
 * Builds the SCRAM-SHA-256 verifier that PostgreSQL and CockroachDB store
 * for `password` (RFC 5802 and RFC 7677):
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, each part in
 * base64. Sent in place of the password, it keeps the password out of the
 * server's statement log. Returns undefined for a password that is not
 * printable ASCII, because the server would first normalise it with
 * SASLprep, which this does not implement.
 */
export function scramVerifier(
  password: string,
  iterations = SCRAM_ITERATIONS,
  salt: Buffer = randomBytes(SALT_BYTES),
): string | undefined {
  if (password === "" || !/^[\x20-\x7e]+$/.test(password)) return undefined;
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return (
    `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}` +
    `$${storedKey.toString("base64")}:${serverKey.toString("base64")}`
  );
}
