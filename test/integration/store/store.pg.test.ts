// The store suite on PostgreSQL: a fresh database for this file on
// DATABASE_URL's server (else the local one), dropped afterwards. Without a
// server this fails, unless EIME_SKIP_PG=1.
import { describe } from "vitest";
import { createPgTestDatabase, pgConfig, skipPg, type TestDatabase } from "../../support/db.js";
import { defineStoreSuite } from "./suite.js";

let database: TestDatabase | undefined;

describe.skipIf(skipPg)("PostgreSQL", () => {
  defineStoreSuite({
    engine: "pg",
    async setup() {
      database = await createPgTestDatabase();
      return pgConfig(database.url);
    },
    async durableConfig() {
      return pgConfig(database!.url);
    },
    async freshDatabase() {
      const fresh = await createPgTestDatabase();
      return { config: pgConfig(fresh.url), drop: () => fresh.drop() };
    },
    async teardown() {
      await database?.drop();
    },
  });
});
