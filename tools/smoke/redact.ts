/** Placeholder that replaces every redacted value. */
export const REDACTED = "[redacted]";

// JSON keys whose string values are credentials or contain them (a DSN, an
// API key, a session token), wherever the word appears in the key.
const SECRET_KEY = /secret|password|token|key|dsn|credential/i;

// Keys that match SECRET_KEY but name a method or type, not a credential,
// and help to read an error.
const PUBLIC_KEYS = new Set(["token_type", "token_endpoint_auth_method"]);

// The password in `scheme://user:password@host`, up to the `@`.
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;

// Query-style `password=...` and `client_secret=...` values, up to the next
// `&`, whitespace, quote or bracket.
const SECRET_PARAMETER =
  /\b([a-z_]*(?:password|secret)[a-z_]*=)[^&\s"'<>)\]}]+/gi;

/** Returns `text` with URL passwords and secret query values replaced. */
export function redactText(text: string): string {
  return text
    .replace(URL_PASSWORD, `$1${REDACTED}@`)
    .replace(SECRET_PARAMETER, `$1${REDACTED}`);
}

/** Returns a copy of `value` with every credential-like string replaced. */
export function redactSecrets(value: unknown): unknown {
  if (typeof value === "string") return redactText(value);
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value as Record<string, unknown>);
  // Kratos returns form fields as UI nodes, and a password node's value is
  // the password itself.
  const isPasswordNode =
    (value as { type?: unknown }).type === "password" ||
    (value as { name?: unknown }).name === "password";
  return Object.fromEntries(
    entries.map(([key, item]) => {
      const secret =
        ((SECRET_KEY.test(key) && !PUBLIC_KEYS.has(key)) ||
          (isPasswordNode && key === "value")) &&
        typeof item === "string" &&
        item !== "";
      return [key, secret ? REDACTED : redactSecrets(item)];
    }),
  );
}
