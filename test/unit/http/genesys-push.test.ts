// POST /genesys/push (http/genesys-push.ts) with fastify's inject: a device id
// the router did not make is refused and wakes nothing; a good one wakes the
// episode and is answered at once; a wake that cannot be sent is a 503.
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { genesysPushRoutes, type PushOutcome, type PushTarget } from "../../../src/http/genesys-push.js";
import { createLogging } from "../../../src/log.js";

const log = createLogging({ level: "silent", modules: {} }).child("genesys");
const GOOD = { conversationId: "c1", episodeUuid: "e1" };

async function app(announce: (t: PushTarget) => Promise<void> = () => Promise.resolve()) {
  const woken: PushTarget[] = [];
  const outcomes: PushOutcome[] = [];
  const a = Fastify();
  await a.register(
    genesysPushRoutes({
      path: "/genesys/push",
      readDeviceId: (id) => (id === "good" ? GOOD : null),
      announce: async (t) => {
        woken.push(t);
        await announce(t);
      },
      onPush: (o) => outcomes.push(o),
      log,
    }),
  );
  return { a, woken, outcomes };
}

const post = (a: Awaited<ReturnType<typeof app>>["a"], payload: unknown) =>
  a.inject({ method: "POST", url: "/genesys/push", payload: payload as Record<string, unknown> });

describe("POST /genesys/push", () => {
  it("wakes the episode of a device id the router made, and answers 200", async () => {
    const { a, woken, outcomes } = await app();
    const res = await post(a, { deviceId: "good", message: "Message" });
    expect(res.statusCode).toBe(200);
    expect(woken).toEqual([GOOD]);
    expect(outcomes).toEqual(["accepted"]);
  });

  it("refuses another device id with 401 and wakes nothing; no device id is a 400", async () => {
    const { a, woken, outcomes } = await app();
    expect((await post(a, { deviceId: "forged" })).statusCode).toBe(401);
    expect((await post(a, { message: "x" })).statusCode).toBe(400);
    expect((await post(a, { deviceId: 7 })).statusCode).toBe(400);
    expect(woken).toEqual([]);
    expect(outcomes).toEqual(["refused", "invalid", "invalid"]);
  });

  it("a wake that cannot be announced is a 503", async () => {
    const { a, outcomes } = await app(() => Promise.reject(new Error("database down")));
    expect((await post(a, { deviceId: "good" })).statusCode).toBe(503);
    expect(outcomes).toEqual(["failed"]);
  });
});
