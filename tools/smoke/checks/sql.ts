import type { OryService } from "../../lib/environment.js";
import type { CheckContext } from "../context.js";
import { readCount } from "../sql.js";
import { CheckFailure, type StepDefinition } from "../steps.js";

/**
 * Table in which Ory's migrator (popx) records each applied migration.
 * NOTE: this is pop's default name, which Keto's migration tests use. That
 * Hydra and Kratos v26 keep the default is assumed, not confirmed.
 */
export const MIGRATION_TABLE = "schema_migration";

/**
 * Checks, per service, that its database accepts queries and that its
 * migrations table has rows.
 */
export function sqlSteps(
  context: CheckContext,
  services: OryService[],
): StepDefinition[] {
  const skipReason = () => context.sql.skipReason();
  return services.flatMap((service): StepDefinition[] => {
    const database = context.environment.databases[service].database;
    return [
      {
        name: `${service} database answers`,
        independent: true,
        skipReason,
        run: async () => {
          const rows = await context.sql.query<{ database: string }>(
            database,
            "SELECT current_database() AS database",
          );
          return `connected to ${rows[0]?.database ?? database} as ${context.sql.target}`;
        },
      },
      {
        name: `${service} migrations table`,
        independent: true,
        skipReason,
        run: async () => {
          let rows;
          try {
            rows = await context.sql.query<{ count: unknown; latest: unknown }>(
              database,
              `SELECT count(*) AS count, max(version) AS latest FROM ${MIGRATION_TABLE}`,
            );
          } catch (error) {
            if (
              (error as { cause?: { code?: string } }).cause?.code === "42P01"
            ) {
              throw new CheckFailure(
                `table ${MIGRATION_TABLE} not found in database ${database}: ${service}'s migrations never ran; check its migration Job`,
                { retry: false, cause: error },
              );
            }
            throw error;
          }
          const count = readCount(rows[0]);
          if (count === 0) {
            throw new CheckFailure(
              `${MIGRATION_TABLE} in database ${database} is empty: ${service}'s migrations never completed`,
            );
          }
          return `${count} migrations applied, latest ${String(rows[0]?.latest)}`;
        },
      },
    ];
  });
}
