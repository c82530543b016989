// The admin CLI as an admin runs it (operations.md "Admin CLI"): the built
// bin as a process, on PGlite in a directory and on a fresh PostgreSQL database.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgTestDatabase, type TestDatabase } from "../support/db.js";
import { ensureBuilt, runBuilt } from "../support/built.js";

let tmp: string;
let pgDb: TestDatabase;

beforeAll(async () => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), "eime-cli-"));
  pgDb = await createPgTestDatabase();
}, 180_000);
afterAll(async () => {
  await pgDb?.drop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const TREE = {
  items: [
    {
      address: "supporto",
      type: "channel",
      mobileIsPublished: true,
      webIsPublished: true,
      info: { name: "Supporto", status: "Assistenza", imageUrl: "", thumbUrl: "", defaultMessage: "" },
      route: { mode: "bot", bot: { url: "http://127.0.0.1:9/webhook" } },
    },
  ],
};

describe("check-config", () => {
  it("prints the effective config with every secret hidden", async () => {
    const run = await runBuilt(["check-config"], {
      EIME_XMPP_SECRET: "component-secret-42",
      EIME_ADMIN_TOKEN: "admin-token-secret",
      EIME_TOKEN_VERIFIER: "hmac:hmac-key-secret",
      DATABASE_URL: "postgres://eime:db-password-secret@db.example:5432/eime",
      EIME_HTTP_PORT: "9090",
    });
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as {
      http: { port: number; adminToken: string };
      xmpp: { secret: string };
      database: { url: string };
    };
    expect(printed.http.port).toBe(9090);
    expect(printed.xmpp.secret).toBe("***");
    expect(printed.http.adminToken).toBe("***");
    expect(printed.database.url).toBe("postgres://eime:***@db.example:5432/eime");
    for (const secret of ["component-secret-42", "admin-token-secret", "hmac-key-secret", "db-password-secret"]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
    }
  });

  it("exits 2 with one line per bad field", async () => {
    const configFile = join(tmp, "bad.json");
    writeFileSync(configFile, JSON.stringify({ outbox: { batchSize: 0 } }));
    const run = await runBuilt(["check-config", "--config", configFile], { EIME_HTTP_PORT: "eighty" });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("config xmpp.secret: required (env EIME_XMPP_SECRET)");
    expect(run.stderr).toMatch(/^config http\.port: .* \(env EIME_HTTP_PORT\)$/m);
    expect(run.stderr).toMatch(/^config outbox\.batchSize: /m);
  });
});

describe("usage", () => {
  it("a command with a missing operand prints the usage and exits 2", async () => {
    const run = await runBuilt(["directory", "export"], { EIME_DATA_DIR: "memory://" });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("usage: eime-router");
  });
});

const engines: [string, () => Record<string, string>][] = [
  ["PGlite", () => ({ EIME_DATA_DIR: join(tmp, "pglite") })],
  ["PostgreSQL", () => ({ DATABASE_URL: pgDb.url })],
];

describe.each(engines)("on %s", (_name, envOf) => {
  // No XMPP secret: the database commands need only the database settings.
  const env = () => ({ ...envOf(), LOG_LEVEL: "warn" });

  it("migrate applies the schema once, then reports it up to date", async () => {
    const first = await runBuilt(["migrate"], env());
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^schema migrated from version 0 to \d+ \(applied 1, /);
    const again = await runBuilt(["migrate"], env());
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^schema at version \d+: up to date$/m);
  });

  it("directory import then export gives back the same tree; a bad file changes nothing", async () => {
    const file = join(tmp, `tree-${_name}.json`);
    writeFileSync(file, JSON.stringify(TREE));
    const imported = await runBuilt(["directory", "import", file], env());
    expect(imported.stderr).toBe("");
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain("directory replaced");

    const bad = join(tmp, "bad-tree.json");
    writeFileSync(bad, JSON.stringify({ items: [{ ...TREE.items[0], route: { mode: "bot", bot: { url: "not a url" } } }] }));
    const refused = await runBuilt(["directory", "import", bad], env());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("items.0.route.bot.url");

    const out = join(tmp, `export-${_name}.json`);
    const exported = await runBuilt(["directory", "export", out], env());
    expect(exported.code).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8"))).toMatchObject(TREE);
    const toStdout = await runBuilt(["directory", "export", "-"], env());
    expect(JSON.parse(toStdout.stdout)).toEqual(JSON.parse(readFileSync(out, "utf8")));
  });

  it("users import: a large CSV with progress lines; a file with a bad line imports nothing", async () => {
    const n = 5000;
    const rows = ["msisdn,name", ...Array.from({ length: n }, (_, i) => `39333${String(i).padStart(7, "0")},"User ${i}, Jr."`)];
    const file = join(tmp, `users-${_name}.csv`);
    writeFileSync(file, `${rows.join("\r\n")}\r\n`);
    const run = await runBuilt(["users", "import", file], env());
    expect(run.code).toBe(0);
    const progress = run.stderr.trim().split("\n");
    expect(progress.length).toBeGreaterThanOrEqual(4);
    expect(progress.at(-1)).toBe(`users import: ${n} of ${n} users written (100%)`);
    expect(run.stdout).toBe(`users import: ${n} users read, ${n} written (${n} registered in all)\n`);

    const bad = join(tmp, "bad-users.csv");
    writeFileSync(bad, '393331112222,Ok\nnot-a-number,Bad\n393331112223,"unclosed\n');
    const refused = await runBuilt(["users", "import", bad], env());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${bad}:2: not an MSISDN`);
    expect(refused.stderr).toContain(`${bad}:3: a quoted field is not closed`);
    expect(refused.stderr).toContain("nothing was imported");

    const small = join(tmp, "one-user.csv");
    writeFileSync(small, "393331112222,Ok\n");
    const after = await runBuilt(["users", "import", small], env());
    expect(after.stdout).toBe(`users import: 1 users read, 1 written (${n + 1} registered in all)\n`);
  });
});
