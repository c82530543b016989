// GET /openapi.json (issue 20; src/http/openapi.ts): generated from the route
// schemas, it lists every route the HTTP server has, and no response schema
// (errors included) names a secret, so none can leave (the schemas are what
// answers are serialized through).
import type { FastifyInstance, RouteOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.js";
import { buildHttp } from "../../../src/http/index.js";
import { createLogging } from "../../../src/log.js";
import { createMetrics } from "../../../src/metrics.js";

type Json = { [key: string]: unknown };

let app: FastifyInstance;
const routes: { method: string; url: string }[] = [];
let doc: { openapi: string; paths: Record<string, Record<string, Json>> };

beforeAll(async () => {
  const config = loadConfig({
    env: {},
    argv: [],
    overrides: { xmpp: { secret: "s" }, http: { port: 0, adminToken: "admin-token-openapi" } },
  });
  app = buildHttp({
    config,
    store: () => undefined,
    connectionStatus: () => ({ online: true }),
    registry: createMetrics({ conversationsByState: async () => ({}) }).registry,
    logger: createLogging({ level: "silent", modules: {} }).child("http"),
  });
  // The plugins holding the routes load at ready(): this hook sees every one of them.
  app.addHook("onRoute", (r: RouteOptions) => {
    for (const method of [r.method].flat()) if (method !== "HEAD") routes.push({ method: method.toLowerCase(), url: r.url });
  });
  const res = await app.inject({ method: "GET", url: "/openapi.json" });
  expect(res.statusCode).toBe(200);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  doc = JSON.parse(res.body) as typeof doc;
});

afterAll(async () => {
  await app?.close();
});

/** A fastify path (/admin/channels/:address) as OpenAPI writes it (/admin/channels/{address}). */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

/** Every property name under a schema, with its path. */
function propertyNames(schema: unknown, path: string, out: { path: string; name: string; schema: Json }[] = []) {
  if (Array.isArray(schema)) schema.forEach((s, i) => propertyNames(s, `${path}[${i}]`, out));
  else if (typeof schema === "object" && schema !== null) {
    const s = schema as Json;
    if (typeof s.properties === "object" && s.properties !== null) {
      for (const [name, sub] of Object.entries(s.properties as Json)) out.push({ path, name, schema: sub as Json });
    }
    for (const [k, v] of Object.entries(s)) propertyNames(v, `${path}.${k}`, out);
  }
  return out;
}

const SECRET_NAME = /secret|token|password|passwd|key|credential|authorization|cookie/i;

describe("/openapi.json", () => {
  it("is an OpenAPI 3 document holding every route of the server, /admin ones included", () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(routes.length).toBeGreaterThan(10);
    for (const r of routes) {
      expect(doc.paths[openApiPath(r.url)]?.[r.method], `${r.method} ${r.url}`).toBeDefined();
    }
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/admin/directory", "/admin/channels/{address}", "/metrics", "/openapi.json"]),
    );
  });

  it("every route documents its success answer and, under /admin, its error answers", () => {
    for (const r of routes) {
      const responses = Object.keys((doc.paths[openApiPath(r.url)]![r.method]!.responses as Json | undefined) ?? {});
      expect(
        responses.some((code) => /^2/.test(code)),
        `${r.method} ${r.url}: ${responses.join(",")}`,
      ).toBe(true);
      if (r.url.startsWith("/admin")) {
        expect(responses, `${r.method} ${r.url}`).toEqual(expect.arrayContaining(["4XX", "5XX"]));
        expect(doc.paths[openApiPath(r.url)]![r.method]!.security, `${r.method} ${r.url}`).toEqual([{ adminToken: [] }]);
      }
    }
  });

  it("no response schema, success or error, has a property that looks like a secret (hasSecret is a boolean)", () => {
    const found = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).flatMap(([method, op]) => propertyNames(op.responses, `${method} ${path}`)),
    );
    expect(found.length).toBeGreaterThan(50);
    const suspicious = found.filter((p) => SECRET_NAME.test(p.name) && !(p.name === "hasSecret" && p.schema.type === "boolean"));
    expect(suspicious.map((p) => `${p.path}: ${p.name}`)).toEqual([]);
    expect(found.some((p) => p.name === "hasSecret")).toBe(true); // the walk does reach the bot routes
  });

  it("the scanner itself catches a secret property", () => {
    const bad = propertyNames(
      { "200": { content: { "application/json": { schema: { properties: { bot: { properties: { secret: {} } } } } } } } },
      "x",
    );
    expect(bad.filter((p) => SECRET_NAME.test(p.name)).map((p) => p.name)).toEqual(["secret"]);
  });
});
