// What the admin API and each of its route modules get (admin.ts registers them).
import type { Config } from "../config/schema.js";
import type { Store } from "../store/index.js";

export interface AdminDeps {
  config: Config;
  /** The open store; throws when the router is not started. */
  store(): Store;
  /** Users per POST /admin/users. */
  maxUsersPerImport: number;
  /** Body limit of the routes that take a whole directory or a user batch. */
  bodyLimitBytes: number;
}
