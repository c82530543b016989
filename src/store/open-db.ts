// Opens the database engine: node-postgres when `database.url` is set
// (production), embedded PGlite otherwise (the demo and most tests). Each
// engine is imported only when chosen.
import type { Logger } from "../log.js";
import type { DatabaseConfig, Db } from "./db.js";

/** Opens node-postgres when `url` is set, else PGlite in `dataDir` (`memory://` keeps nothing). */
export async function openDb(config: DatabaseConfig, logger: Logger): Promise<Db> {
  if (config.url) {
    const { openPgDb } = await import("./pg-db.js");
    return openPgDb({ url: config.url, poolMax: config.poolMax }, logger);
  }
  const { openPgliteDb } = await import("./pglite-db.js");
  return openPgliteDb({ dataDir: config.dataDir }, logger);
}
