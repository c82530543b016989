// docs/ejabberd.md must say what the e2e tests run: every YAML snippet of it
// appears, as a contiguous block with its indentation, in the ejabberd.yml the
// ejabberd harness writes for the doc's example names (blank and comment-only
// lines aside), and the router's environment matches those names.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configText } from "../e2e/harness/ejabberd.js";

const EXAMPLE = { userDomain: "eime.local", componentDomain: "router.eime.local", secret: "change-me", componentPort: 5347 };

const doc = readFileSync(new URL("../../docs/ejabberd.md", import.meta.url), "utf8");
const blocks = (lang: string) => [...doc.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);
const yamlSnippets = blocks("yaml");

/** Lines that carry YAML: trailing spaces cut, blank and comment-only lines dropped. */
const meaningful = (text: string) =>
  text
    .split("\n")
    .map((l) => l.replace(/\s+$/, ""))
    .filter((l) => l !== "" && !/^\s*#/.test(l));

const tested = meaningful(
  configText({
    c2sPort: 5222,
    componentPort: EXAMPLE.componentPort,
    userDomain: EXAMPLE.userDomain,
    componentDomain: EXAMPLE.componentDomain,
    secret: EXAMPLE.secret,
    privilege: true,
    logLevel: "info",
    componentNumber: 2,
  }),
);

/** Where `lines` occur as a contiguous run in the tested config, or -1. */
function indexOfRun(lines: string[]): number {
  for (let i = 0; i + lines.length <= tested.length; i++) {
    if (lines.every((l, j) => tested[i + j] === l)) return i;
  }
  return -1;
}

describe("docs/ejabberd.md", () => {
  it("has the listener, privilege and balancing snippets", () => {
    expect(yamlSnippets.length).toBeGreaterThanOrEqual(3);
    const all = yamlSnippets.join("\n");
    for (const needle of ["module: ejabberd_service", "mod_privilege:", "domain_balancing:"]) expect(all).toContain(needle);
  });

  it.each(yamlSnippets.map((s, i) => [i, s] as const))("YAML snippet %i is part of the tested configuration, verbatim", (_i, snippet) => {
    const lines = meaningful(snippet);
    expect(lines.length).toBeGreaterThan(0);
    expect(
      indexOfRun(lines),
      `not found as a block in the harness config:\n${lines.join("\n")}\n--- harness config ---\n${tested.join("\n")}`,
    ).toBeGreaterThanOrEqual(0);
  });

  it("without domain_balancing the harness config has none (one connection per domain)", () => {
    const single = configText({ c2sPort: 5222, ...EXAMPLE, privilege: true, logLevel: "info" });
    expect(single).not.toContain("domain_balancing");
  });

  it("the router's environment names the same port, domains and secret as the snippets", () => {
    const env = blocks("sh").find((b) => b.includes("EIME_XMPP_SERVICE"));
    expect(env).toBeDefined();
    const vars = Object.fromEntries([...env!.matchAll(/^(EIME_[A-Z_]+)=(\S+)/gm)].map((m) => [m[1]!, m[2]!]));
    expect(vars).toEqual({
      EIME_XMPP_SERVICE: `xmpp://127.0.0.1:${EXAMPLE.componentPort}`,
      EIME_XMPP_DOMAIN: EXAMPLE.componentDomain,
      EIME_XMPP_SECRET: EXAMPLE.secret,
      EIME_USER_DOMAIN: EXAMPLE.userDomain,
    });
  });
});
