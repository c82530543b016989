import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenVerifier } from "../../../src/adapters/token/verifiers.js";
import { systemClock } from "../../../src/core/ports.js";

// A real HTTP token service: 200 {valid} for known tokens, 500 when told to fail.
const calls: { token: string; msisdn: string }[] = [];
let failing = false;
const server = Fastify();
server.post("/verify", async (req, reply) => {
  const body = req.body as { token: string; msisdn: string };
  calls.push(body);
  if (failing) return reply.code(500).send("boom");
  if (body.token === "forbidden") return reply.code(403).send();
  return { valid: body.token === `good-${body.msisdn}` };
});
let url = "";

beforeAll(async () => {
  url = await server.listen({ port: 0, host: "127.0.0.1" });
});
afterAll(() => server.close());

describe("http token verifier", () => {
  it("asks the service with {token, msisdn} and caches its answer", async () => {
    const v = createTokenVerifier({ verifier: `http:${url}/verify`, cacheTtlSeconds: 60, timeoutMs: 2000 }, systemClock);
    calls.length = 0;
    await expect(v.verify("good-393471111111", "393471111111")).resolves.toBe(true);
    await expect(v.verify("good-393471111111", "393471111111")).resolves.toBe(true);
    expect(calls).toEqual([{ token: "good-393471111111", msisdn: "393471111111" }]);
    await expect(v.verify("good-393471111111", "393472222222")).resolves.toBe(false);
    await expect(v.verify("forbidden", "393471111111")).resolves.toBe(false);
  });

  it("a failing service is neither valid nor invalid: the check throws SERVICE_UNAVAILABLE and nothing is cached", async () => {
    const v = createTokenVerifier({ verifier: `http:${url}/verify`, cacheTtlSeconds: 60, timeoutMs: 2000 }, systemClock);
    failing = true;
    await expect(v.verify("good-1", "1")).rejects.toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    failing = false;
    await expect(v.verify("good-1", "1")).resolves.toBe(true);
  });
});
