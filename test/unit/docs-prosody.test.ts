// docs/prosody.md must say what the e2e tests run: every Lua line of its
// snippets appears in the configuration the Prosody harness writes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configText } from "../e2e/harness/prosody.js";

const doc = readFileSync(new URL("../../docs/prosody.md", import.meta.url), "utf8");
const snippets = [...doc.matchAll(/```lua\n([\s\S]*?)```/g)].map((m) => m[1]!);

const tested = configText({
  baseDir: "/tmp/x",
  c2sPort: 5222,
  componentPort: 5347,
  userDomain: "eime.local",
  componentDomain: "router.eime.local",
  secret: "change-me",
  privilege: true,
  logLevel: "info",
});
const testedLines = new Set(
  tested
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean),
);

describe("docs/prosody.md", () => {
  it("has the component and privilege snippets", () => {
    expect(snippets.length).toBeGreaterThanOrEqual(2);
  });

  it.each(snippets.map((s, i) => [i, s] as const))("snippet %i is part of the tested configuration", (_i, snippet) => {
    const lines = snippet
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    expect(lines.filter((l) => !testedLines.has(l))).toEqual([]);
  });
});
