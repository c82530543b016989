// The GMS simulator's pushUrl call and custom HTTP pushes (tools/gms-simulator/push.ts),
// as the public Genesys documentation describes them: …/pushUrl sends a URL
// into the chat (a PushUrl event); a chat requested with
// GCTI_GMS_PushDeviceType=customhttp gets {deviceId, message} POSTed to GMS'
// customhttp.url on the other parties' activity, not on its own, and a failed
// push is not resent.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startGmsSimulator, type GmsAnswer, type GmsSimulator } from "../../../tools/gms-simulator/server.js";

const SERVICE = "customer-support";
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closing.map((c) => c()));
  closing = [];
});

async function sim(pushUrl?: string): Promise<GmsSimulator> {
  const s = await startGmsSimulator({ clientTimeoutMs: 0, ...(pushUrl ? { pushUrl } : {}) });
  closing.push(() => s.stop());
  return s;
}

/** An HTTP server recording what is POSTed to it, answering `status`. */
async function receiver(status = 200): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString("utf8")));
    req.on("end", () => {
      bodies.push({ contentType: req.headers["content-type"], body: JSON.parse(data) as unknown });
      res.writeHead(status).end("ignored");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closing.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`, bodies };
}

async function post(url: string, fields: Record<string, string>): Promise<GmsAnswer> {
  const res = await fetch(url, { method: "POST", body: new URLSearchParams(fields) });
  return (await res.json()) as GmsAnswer;
}

async function requestChat(s: GmsSimulator, userData: Record<string, string>) {
  const fields: Record<string, string> = { nickname: "Mario" };
  for (const [k, v] of Object.entries(userData)) fields[`userData[${k}]`] = v;
  const a = await post(`${s.url}/genesys/2/chat/${SERVICE}`, fields);
  const ids = { userId: a.userId!, secureKey: a.secureKey!, alias: a.alias! };
  return {
    chat: s.chat(a.chatId!),
    call: (op: string, extra: Record<string, string> = {}) =>
      post(`${s.url}/genesys/2/chat/${SERVICE}/${a.chatId}/${op}`, { ...ids, ...extra }),
  };
}

describe("GMS simulator: …/pushUrl", () => {
  it("sends a URL into the chat: a PushUrl event from the client; no pushUrl field is a bad request", async () => {
    const s = await sim();
    const { chat, call } = await requestChat(s, {});
    expect((await call("pushUrl", { pushUrl: "https://example.com/faq" })).statusCode).toBe(0);
    expect(chat.transcript().at(-1)).toMatchObject({ type: "PushUrl", text: "https://example.com/faq", from: { type: "Client" } });
    expect(await call("pushUrl")).toMatchObject({ statusCode: 2, errors: [{ code: 100 }] });
  });
});

describe("GMS simulator: custom HTTP pushes", () => {
  it("POSTs {deviceId, message} as JSON on agent activity, for chats that asked for customhttp pushes only", async () => {
    const r = await receiver();
    const s = await sim(r.url);
    const asked = await requestChat(s, { GCTI_GMS_PushDeviceType: "customhttp", GCTI_GMS_PushDeviceId: "dev-1" });
    const other = await requestChat(s, {});
    await sleep(100);
    r.bodies.length = 0; // the queue notices
    asked.chat.agentJoin("Giulia");
    asked.chat.agentSay("Ciao");
    other.chat.agentJoin("Marco");
    await asked.call("send", { message: "grazie" }); // the client's own: no push
    await sleep(300);
    // Two posts in flight at once may land in either order.
    const posted = r.bodies as { contentType: string; body: { deviceId: string; message: string } }[];
    expect(posted.map((p) => [p.contentType, p.body.deviceId])).toEqual([
      ["application/json", "dev-1"],
      ["application/json", "dev-1"],
    ]);
    expect(posted.map((p) => p.body.message.split(" ")[0]).sort()).toEqual(["Message", "ParticipantJoined"]);
    expect(s.pushes.filter((p) => p.chatId === asked.chat.chatId).map((p) => p.status)).toEqual([200, 200, 200]);
  });

  it("a failed push is recorded and not resent; no URL configured, no pushes", async () => {
    const r = await receiver(500);
    const s = await sim();
    const { chat } = await requestChat(s, { GCTI_GMS_PushDeviceType: "customhttp", GCTI_GMS_PushDeviceId: "dev-2" });
    chat.agentJoin();
    await sleep(100);
    expect(s.pushes).toEqual([]);
    s.setPushUrl(r.url);
    chat.agentSay("uno");
    await sleep(300);
    expect(r.bodies).toHaveLength(1);
    expect(s.pushes).toMatchObject([{ chatId: chat.chatId, deviceId: "dev-2", status: 500 }]);
  });
});
