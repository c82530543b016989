// docs/configuration.md must list every setting of the schema, with the
// default config/default.json really has and the environment variable that
// really sets it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ENV_VARIABLES } from "../../src/config/load.js";
import { ConfigSchema } from "../../src/config/schema.js";

const doc = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
const defaults = JSON.parse(readFileSync(new URL("../../config/default.json", import.meta.url), "utf8")) as Record<string, unknown>;

const rows = new Map(
  doc
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .map((l) =>
      l
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    )
    .map(([key, def, env]) => [key!.replace(/`/g, ""), { def: def!, env: env!.replace(/`/g, "") }] as const),
);

type Node = { _zod: { def: { type: string; shape?: Record<string, Node>; innerType?: Node } } };

function keys(node: Node, path: string[] = []): string[] {
  const def = node._zod.def;
  if (def.type === "optional") return keys(def.innerType!, path);
  if (def.type === "object" && def.shape) return Object.entries(def.shape).flatMap(([k, v]) => keys(v, [...path, k]));
  return [path.join(".")];
}

const schemaKeys = keys(ConfigSchema);
const valueAt = (path: string) => path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], defaults);

describe("docs/configuration.md", () => {
  it("documents exactly the settings of the schema", () => {
    expect([...rows.keys()].sort()).toEqual([...schemaKeys].sort());
  });

  it.each(schemaKeys)("%s: its default and environment variable are the real ones", (key) => {
    const row = rows.get(key)!;
    const value = valueAt(key);
    if (value === undefined) expect(row.def).not.toMatch(/^`/);
    else expect(row.def).toBe("`" + (typeof value === "string" ? value : JSON.stringify(value)) + "`");
    const env = Object.entries(ENV_VARIABLES).find(([, v]) => v.path.join(".") === key)?.[0] ?? "";
    expect(row.env).toBe(env);
  });
});
