import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../src/config/load.js";

const base = { EIME_XMPP_SECRET: "s3cret" };

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("takes the defaults of config/default.json and the operations.md env defaults", () => {
    const c = loadConfig({ env: base, argv: [] });
    expect(c.xmpp.service).toBe("xmpp://127.0.0.1:5347");
    expect(c.xmpp.domain).toBe("router.localhost");
    expect(c.xmpp.userDomain).toBe("localhost");
    expect(c.database.url).toBeUndefined();
    expect(c.database.dataDir).toBe("./data");
    expect(c.http.port).toBe(8080);
    expect(c.http.adminToken).toBeUndefined();
    expect(c.genesys.url).toBeUndefined();
    expect(c.tokens.verifier).toBe("none");
    expect(c.log.level).toBe("info");
  });

  it("applies file, then environment, in that order", () => {
    const dir = mkdtempSync(join(tmpdir(), "eime-config-"));
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ xmpp: { domain: "from-file.example", secret: "f" }, http: { port: 9000 } }));
    const c = loadConfig({ env: { EIME_HTTP_PORT: "9100" }, argv: ["--config", file] });
    expect(c.xmpp.domain).toBe("from-file.example");
    expect(c.xmpp.secret).toBe("f");
    expect(c.http.port).toBe(9100);
    const viaEnv = loadConfig({ env: { EIME_CONFIG: file }, argv: [] });
    expect(viaEnv.http.port).toBe(9000);
  });

  it("maps every fixed environment variable", () => {
    const c = loadConfig({
      argv: [],
      env: {
        EIME_XMPP_SERVICE: "xmpp://10.0.0.1:5275",
        EIME_XMPP_DOMAIN: "router.eime.local",
        EIME_XMPP_SECRET: "x",
        EIME_USER_DOMAIN: "eime.local",
        DATABASE_URL: "postgres://u@db/eime",
        EIME_DATA_DIR: "memory://",
        EIME_HTTP_PORT: "0",
        EIME_ADMIN_TOKEN: "admin-token-1",
        EIME_GENESYS_URL: "http://gms.local:8080",
        EIME_TOKEN_VERIFIER: "hmac:abc",
        LOG_LEVEL: "debug",
      },
    });
    expect(c.xmpp).toMatchObject({ service: "xmpp://10.0.0.1:5275", domain: "router.eime.local", userDomain: "eime.local" });
    expect(c.database).toMatchObject({ url: "postgres://u@db/eime", dataDir: "memory://" });
    expect(c.http).toMatchObject({ port: 0, adminToken: "admin-token-1" });
    expect(c.genesys.url).toBe("http://gms.local:8080");
    expect(c.tokens.verifier).toBe("hmac:abc");
    expect(c.log.level).toBe("debug");
  });

  it("reports one line per bad field, naming the variable to set", () => {
    const problems = problemsOf(() =>
      loadConfig({
        argv: [],
        env: { EIME_HTTP_PORT: "eighty", EIME_TOKEN_VERIFIER: "magic", DATABASE_URL: "mysql://x", LOG_LEVEL: "loud" },
      }),
    );
    expect(problems).toHaveLength(5);
    expect(problems).toContain("config xmpp.secret: required (env EIME_XMPP_SECRET)");
    expect(problems.find((p) => p.startsWith("config http.port:"))).toMatch(/EIME_HTTP_PORT/);
    expect(problems.find((p) => p.startsWith("config tokens.verifier:"))).toMatch(/none, hmac:SECRET or http:URL/);
    expect(problems.find((p) => p.startsWith("config database.url:"))).toMatch(/postgres/);
    expect(problems.find((p) => p.startsWith("config log.level:"))).toBeDefined();
  });

  it("rejects unknown keys (typos) and unreadable files", () => {
    expect(problemsOf(() => loadConfig({ env: base, argv: [], overrides: { xmpp: { domian: "x" } } }))).toEqual([
      "config xmpp.domian: unknown setting",
    ]);
    const [line] = problemsOf(() => loadConfig({ env: base, argv: ["--config", "/nonexistent/x.json"] }));
    expect(line).toMatch(/config file \/nonexistent\/x.json: cannot read \(ENOENT\)/);
    const dir = mkdtempSync(join(tmpdir(), "eime-config-"));
    writeFileSync(join(dir, "bad.json"), "{ not json");
    expect(problemsOf(() => loadConfig({ env: base, argv: [`--config=${join(dir, "bad.json")}`] }))[0]).toMatch(/invalid JSON/);
  });

  it("returns a frozen config", () => {
    const c = loadConfig({ env: base, argv: [] });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.log.modules)).toBe(true);
    expect(() => {
      (c.xmpp as { domain: string }).domain = "x";
    }).toThrow();
  });

  it("attachments.storage: database by default; directory from the environment, and then a directory is required", () => {
    expect(loadConfig({ env: base, argv: [] }).attachments).toMatchObject({
      storage: "database",
      proxyBotFiles: "private",
      fetchTimeoutMs: 10_000,
    });
    const dir = loadConfig({
      env: { ...base, EIME_ATTACHMENTS_STORAGE: "directory", EIME_ATTACHMENTS_DIRECTORY: "/var/lib/eime/files" },
      argv: [],
    });
    expect(dir.attachments).toMatchObject({ storage: "directory", directory: "/var/lib/eime/files" });
    expect(problemsOf(() => loadConfig({ env: { ...base, EIME_ATTACHMENTS_STORAGE: "directory" }, argv: [] })).join("\n")).toMatch(
      /attachments\.directory.*required when attachments\.storage is "directory"/,
    );
    expect(problemsOf(() => loadConfig({ env: { ...base, EIME_ATTACHMENTS_STORAGE: "s3" }, argv: [] })).join("\n")).toMatch(
      /attachments\.storage.*must be database or directory/,
    );
  });

  it("plain.commands: callback words by default; a language added without one is accepted, a bad one is not", () => {
    const c = loadConfig({ env: base, argv: [] });
    expect(c.plain.commands["it"]?.callback).toBe("richiamami");
    expect(c.plain.commands["en"]?.callback).toBe("callback");
    const de = { operator: "agent", close: "ende", reset: "neu", vote: "bewerten" };
    const withDe = loadConfig({ env: base, argv: [], overrides: { plain: { commands: { de } } } });
    expect(withDe.plain.commands["de"]).toEqual(de);
    const bad = { plain: { commands: { de: { ...de, callback: "!ruf" } } } };
    expect(problemsOf(() => loadConfig({ env: base, argv: [], overrides: bad })).join("\n")).toMatch(
      /plain\.commands\.de\.callback.*one word/,
    );
  });
});
