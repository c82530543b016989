import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, ERRORS, RouterError } from "../../src/errors.js";

// RFC 6120 section 8.3.3: the defined stanza error conditions.
const RFC6120_CONDITIONS = new Set([
  "bad-request",
  "conflict",
  "feature-not-implemented",
  "forbidden",
  "gone",
  "internal-server-error",
  "item-not-found",
  "jid-malformed",
  "not-acceptable",
  "not-allowed",
  "not-authorized",
  "policy-violation",
  "recipient-unavailable",
  "redirect",
  "registration-required",
  "remote-server-not-found",
  "remote-server-timeout",
  "resource-constraint",
  "service-unavailable",
  "subscription-required",
  "undefined-condition",
  "unexpected-request",
]);

const docRows = new Map(
  readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .map((l) =>
      l
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim().replace(/`/g, "")),
    )
    .map((cells) => [cells[0]!, cells] as const),
);

describe("error registry", () => {
  it.each(ERROR_CODES)("%s is mapped to a valid stanza error and HTTP status, and documented the same", (code) => {
    const spec = ERRORS[code];
    expect(RFC6120_CONDITIONS.has(spec.condition)).toBe(true);
    expect(["auth", "cancel", "continue", "modify", "wait"]).toContain(spec.type);
    expect(spec.app).toMatch(/^[a-z][a-z-]*$/);
    expect(spec.http).toBeGreaterThanOrEqual(400);
    expect(spec.http).toBeLessThan(600);
    expect(docRows.get(code)).toEqual([code, spec.condition, spec.type, spec.app, String(spec.http), spec.description]);
  });

  it("documents no code that the registry lacks", () => {
    expect([...docRows.keys()].sort()).toEqual([...ERROR_CODES].sort());
  });

  it("has distinct application elements", () => {
    const apps = ERROR_CODES.map((c) => ERRORS[c].app);
    expect(new Set(apps).size).toBe(apps.length);
  });

  it("RouterError carries code, field and cause", () => {
    const cause = new Error("boom");
    const err = new RouterError("BAD_REQUEST", "payload: not JSON", { field: "payload", cause });
    expect(err).toMatchObject({ code: "BAD_REQUEST", field: "payload", message: "payload: not JSON", cause });
    expect(err.spec.condition).toBe("bad-request");
  });
});
