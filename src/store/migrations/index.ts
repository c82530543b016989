// The ordered list of migrations. Add a migration as the next numbered module
// (NNN_name.ts, exporting its SQL) and append it here. They are TypeScript
// modules rather than .sql files because the build (tsc) copies no .sql files.
import { migration001 } from "./001_initial.js";
import { migration002 } from "./002_outbox_vacuum.js";
import { migration003 } from "./003_delivery.js";
import { migration004 } from "./004_plain_clients.js";
import { migration005 } from "./005_attachments.js";
import { migration006 } from "./006_idle_warning.js";
import { migration007 } from "./007_genesys_cloud_webhooks.js";
import { migration008 } from "./008_callbacks.js";
import { migration009 } from "./009_gms_receipts.js";
import { migration010 } from "./010_gcloud_receipts.js";
import type { Migration } from "./migration.js";

export const MIGRATIONS: readonly Migration[] = [
  migration001,
  migration002,
  migration003,
  migration004,
  migration005,
  migration006,
  migration007,
  migration008,
  migration009,
  migration010,
];
