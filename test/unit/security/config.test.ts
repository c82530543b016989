// The security settings as loaded from the environment (operations.md).
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../src/config/load.js";

const base = { EIME_XMPP_SECRET: "s3cret" };
const problems = (env: Record<string, string>) => {
  try {
    loadConfig({ env: { ...base, ...env }, argv: [] });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe("security settings", () => {
  it("NODE_ENV=production refuses to start without EIME_SECRET_KEY, with one line saying so", () => {
    expect(problems({ NODE_ENV: "production" })).toEqual([
      "config security.secretKey: required when NODE_ENV=production (env EIME_SECRET_KEY)",
    ]);
    expect(problems({ NODE_ENV: "production", EIME_SECRET_KEY: randomBytes(32).toString("base64") })).toEqual([]);
    expect(problems({})).toEqual([]); // development: the development key, with a warning at start
  });

  it("a key that is not 32 bytes of base64 is refused", () => {
    expect(problems({ EIME_SECRET_KEY: "too-short" })).toEqual([
      "config security.secretKey: must be one or more comma-separated base64 keys of 32 bytes (openssl rand -base64 32) (env EIME_SECRET_KEY)",
    ]);
  });

  it("EIME_ALLOW_PRIVATE_TARGETS=1 allows private targets; unset refuses them", () => {
    expect(loadConfig({ env: { ...base, EIME_ALLOW_PRIVATE_TARGETS: "1" }, argv: [] }).security.allowPrivateTargets).toBe(true);
    expect(loadConfig({ env: base, argv: [] }).security.allowPrivateTargets).toBe(false);
    expect(problems({ EIME_ALLOW_PRIVATE_TARGETS: "yes" })[0]).toMatch(
      /^config security.allowPrivateTargets: .*\(env EIME_ALLOW_PRIVATE_TARGETS\)$/,
    );
  });
});

describe("an HTTP listener beyond loopback needs an admin token", () => {
  const line =
    "config http.adminToken: required when http.host (0.0.0.0) is not a loopback address: set an admin token, or listen on 127.0.0.1 (env EIME_ADMIN_TOKEN)";

  it("0.0.0.0, ::, a LAN address or a host name without EIME_ADMIN_TOKEN: one clear line", () => {
    expect(problems({ EIME_HTTP_HOST: "0.0.0.0" })).toEqual([line]);
    expect(problems({ EIME_HTTP_HOST: "::" })).toEqual([line.replace("0.0.0.0", "::")]);
    expect(problems({ EIME_HTTP_HOST: "10.1.2.3" })).toHaveLength(1);
    expect(problems({ EIME_HTTP_HOST: "router.example.com" })).toHaveLength(1);
  });

  it("with a token anywhere; without one on loopback (127.0.0.0/8, ::1, localhost)", () => {
    expect(problems({ EIME_HTTP_HOST: "0.0.0.0", EIME_ADMIN_TOKEN: "a-long-admin-token" })).toEqual([]);
    for (const host of ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) {
      expect(problems({ EIME_HTTP_HOST: host }), host).toEqual([]);
    }
  });
});
