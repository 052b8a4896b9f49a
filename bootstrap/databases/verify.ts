import { randomBytes } from "node:crypto";
import {
  classifyPostgresError,
  openSession,
  type SqlSession,
} from "../../tools/lib/postgres.js";
import type { AdminConnection } from "./admin.js";
import { quoteIdentifier } from "./dialect.js";
import { scrub } from "./failures.js";
import type { ServerState } from "./inspect.js";
import type { Plan } from "./plan.js";
import type { Targets } from "./targets.js";

/** The outcome of one check made as a service or smoke user. */
export interface Check {
  subject: string;
  passed: boolean;
  detail?: string;
}

/**
 * Connects as each user to prove the grants work. A service user creates
 * and drops a table in its own database and cannot read or create anything
 * in another's. The smoke user reads but cannot create. Tables are created
 * inside a transaction that is rolled back, so a crash leaves none behind.
 */
export async function verifyUsers(
  admin: AdminConnection,
  targets: Targets,
  plan: Plan,
  state: ServerState,
): Promise<Check[]> {
  // Each check opens its own sessions, so the checks run concurrently, and
  // the result keeps their order.
  const checks: Promise<Check>[] = [];
  const probeTable = `bootstrap_verify_${randomBytes(4).toString("hex")}`;
  const firstTable = (database: string) =>
    state.databases.get(database)?.tables[0]?.name;

  for (const service of targets.services) {
    const password = plan.passwords.get(service.user);
    if (!password) continue;
    const connect = (database: string) =>
      openSession(admin.settingsFor(service.user, password, database));

    checks.push(
      check(
        `${service.user} can create and drop a table in ${service.database}`,
        password,
        async () => {
          const session = await connect(service.database);
          await inRolledBackTransaction(session, async () => {
            await session.query(
              `CREATE TABLE public.${quoteIdentifier(probeTable)} (id INT PRIMARY KEY)`,
            );
            await session.query(
              `DROP TABLE public.${quoteIdentifier(probeTable)}`,
            );
          });
        },
      ),
    );

    for (const other of targets.services) {
      if (other === service) continue;
      const subject = `${service.user} cannot read or create objects in ${other.database}`;
      checks.push(
        check(subject, password, async () => {
          let session: SqlSession;
          try {
            session = await connect(other.database);
          } catch (error) {
            if (classifyPostgresError(error) === "privilege") return;
            throw error;
          }
          try {
            if (admin.dialect.checksConnect) {
              throw new Error(
                `connected to ${other.database}, so CONNECT is granted to public or to ${service.user}`,
              );
            }
            await expectDenied(
              session,
              `CREATE TABLE public.${quoteIdentifier(probeTable)} (id INT PRIMARY KEY)`,
            );
            const table = firstTable(other.database);
            if (table)
              await expectDenied(
                session,
                `SELECT 1 FROM public.${quoteIdentifier(table)} LIMIT 1`,
              );
          } finally {
            await session.end();
          }
        }),
      );
    }
  }

  const smokePassword = plan.passwords.get(targets.smoke.user);
  if (smokePassword) {
    for (const service of targets.services) {
      const subject = `${targets.smoke.user} can read but not create in ${service.database}`;
      checks.push(
        check(subject, smokePassword, async () => {
          const session = await openSession(
            admin.settingsFor(
              targets.smoke.user,
              smokePassword,
              service.database,
            ),
          );
          try {
            const table = firstTable(service.database);
            if (table)
              await session.query(
                `SELECT 1 FROM public.${quoteIdentifier(table)} LIMIT 1`,
              );
            await expectDenied(
              session,
              `CREATE TABLE public.${quoteIdentifier(probeTable)} (id INT PRIMARY KEY)`,
            );
          } finally {
            await session.end();
          }
        }),
      );
    }
  }
  return Promise.all(checks);
}

async function check(
  subject: string,
  password: string,
  body: () => Promise<void>,
): Promise<Check> {
  try {
    await body();
    return { subject, passed: true };
  } catch (error) {
    const detail = scrub(String((error as Error)?.message ?? error), [
      password,
    ]);
    return { subject, passed: false, detail };
  }
}

async function inRolledBackTransaction(
  session: SqlSession,
  body: () => Promise<void>,
): Promise<void> {
  try {
    await session.query("BEGIN");
    await body();
  } finally {
    await session.query("ROLLBACK").catch(() => {});
    await session.end();
  }
}

/** Runs `sql` in a rolled-back transaction and requires a privilege error. */
async function expectDenied(session: SqlSession, sql: string): Promise<void> {
  await session.query("BEGIN");
  try {
    await session.query(sql);
  } catch (error) {
    if (classifyPostgresError(error) === "privilege") return;
    throw error;
  } finally {
    await session.query("ROLLBACK").catch(() => {});
  }
  throw new Error(`"${sql}" succeeded, but it should have been denied`);
}
