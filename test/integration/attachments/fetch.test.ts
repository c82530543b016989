// src/attachments/fetch.ts over real HTTP: the bounds a fetched file is held
// to (size declared and streamed, time, redirects only where allowed) and
// which failures are final.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchBounded, FetchFailure } from "../../../src/attachments/fetch.js";

let server: Server;
let base: string;
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? "/";
    if (path === "/a.png") return res.writeHead(200, { "content-type": "image/png; charset=binary" }).end(PNG);
    if (path === "/big-declared") return res.writeHead(200, { "content-length": "5000" }).end(Buffer.alloc(5000));
    if (path === "/big-streamed") {
      res.writeHead(200, { "content-type": "text/plain" }); // chunked: no length said
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(500, 97));
      return res.end();
    }
    if (path === "/hop") return res.writeHead(302, { location: "/a.png" }).end();
    if (path === "/away") return res.writeHead(302, { location: "http://evil.example/x.png" }).end();
    if (path === "/slow") return setTimeout(() => res.writeHead(200).end("late"), 2000);
    if (path === "/busy") return res.writeHead(503).end();
    return res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const local = (u: URL) => u.hostname === "127.0.0.1";
const opts = { maxBytes: 1000, timeoutMs: 1000, allowed: local };
const failure = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FetchFailure);
  const f = err as FetchFailure;
  return { reason: f.reason, final: f.final };
};

describe("fetching a file, bounded", () => {
  it("gives the bytes, their type and sha256; follows a redirect to an allowed host", async () => {
    const f = await fetchBounded(`${base}/hop`, opts);
    expect(f.content).toEqual(PNG);
    expect(f.mediaType).toBe("image/png");
    expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a file over maxBytes, whether its length is declared or not", async () => {
    expect(await failure(fetchBounded(`${base}/big-declared`, opts))).toEqual({ reason: "size", final: true });
    expect(await failure(fetchBounded(`${base}/big-streamed`, opts))).toEqual({ reason: "size", final: true });
  });

  it("never follows a redirect to a host not allowed, nor fetches one", async () => {
    expect(await failure(fetchBounded(`${base}/away`, opts))).toEqual({ reason: "host", final: true });
    expect(await failure(fetchBounded("http://evil.example/x.png", opts))).toEqual({ reason: "host", final: true });
  });

  it("gives up after timeoutMs (may be tried again), a 5xx may be tried again, a 404 is final", async () => {
    const started = Date.now();
    expect(await failure(fetchBounded(`${base}/slow`, { ...opts, timeoutMs: 300 }))).toEqual({ reason: "timeout", final: false });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await failure(fetchBounded(`${base}/busy`, opts))).toEqual({ reason: "http", final: false });
    expect(await failure(fetchBounded(`${base}/nothing`, opts))).toEqual({ reason: "http", final: true });
  });
});
