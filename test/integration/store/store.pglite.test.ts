// The store suite on embedded PGlite: one in-memory instance for the file
// (tables emptied between tests), and a directory for the restart test.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pgliteConfig } from "../../support/db.js";
import { defineStoreSuite } from "./suite.js";

let tempDir: string | undefined;

defineStoreSuite({
  engine: "pglite",
  setup: async () => pgliteConfig("memory://"),
  async durableConfig() {
    tempDir ??= await mkdtemp(join(tmpdir(), "eime-store-"));
    // A directory that does not exist yet, below one that does not either: the first open creates both.
    return pgliteConfig(join(tempDir, "data", "pglite"));
  },
  async teardown() {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  },
});
