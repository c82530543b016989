// issue 13: what a bot or an operator writes reaches clients only as the
// safe HTML subset (payload text) and plain text (<body>): script tags,
// attributes, javascript: links and control characters from a hostile bot
// and from the simulated Genesys agent, through a real Prosody.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startGmsSimulator, type GmsSimulator } from "../../tools/gms-simulator/server.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isX, readX, v2Thread, type XRead } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const ALICE = "393471111111";
const HOSTILE =
  '<p class="x" onmouseover="steal()">Ciao <b style="x">Mario</b>\u0001\u001b<script>alert(1)</script> ' +
  '<a href="javascript:alert(2)">clicca</a><img src=x onerror=alert(3)>\u0007 😀</p>';
const SAFE = "<p>Ciao <b>Mario</b> clicca 😀</p>";
const PLAIN = "Ciao Mario clicca 😀";

let prosody: Prosody;
let sim: GmsSimulator;
let router: App;
let alice: TestClient;
let bot: Server;
let SUPPORTO: string;

/** A bot that answers every message with hostile content, and hands over when asked. */
async function startHostileBot(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const { message } = JSON.parse(body) as { message: string };
      const answer = message.includes("operatore")
        ? [{ custom: { router: { handoff: { reason: "richiesta" } } } }]
        : [
            { text: HOSTILE },
            { text: "Scegli", buttons: [{ title: '<b onclick="x">Sì</b>\u0002', payload: "/si" }] },
            { text: "immagine", image: "javascript:alert(4)" },
          ];
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook` };
}

beforeAll(async () => {
  prosody = await startProsody({ users: [{ username: ALICE, password: "a" }] });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  const hostile = await startHostileBot();
  bot = hostile.server;
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  router = await startRouter(
    routerConfig(prosody, { genesys: { url: sim.url, pollIntervalMs: 150 } }),
    testDirectory(hostile.url, { genesysService: "svc" }),
  );
  alice = await connectClient({ prosody, username: ALICE, password: "a" });
}, 60_000);

afterAll(async () => {
  await alice?.stop();
  await router?.stop();
  await sim?.stop();
  await new Promise((r) => bot?.close(r));
  await prosody?.stop();
});

const data = { apiVersion: "2.1", os: "android", appVersion: "0.4.65", premium: false, useChatDynamic: true };
const next = async (pred: (x: XRead) => boolean, what: string) =>
  readX(await alice.waitFor((s) => isX(undefined, SUPPORTO)(s) && pred(readX(s)!), 8000, what))!;

describe("safe text reaches the client", () => {
  it("from the bot: the allowed subset without attributes in the payload, plain text in the body", async () => {
    const thread = v2Thread(ALICE, "Assistenza");
    await alice.send(chatText("ciao", data, { to: SUPPORTO, thread }));
    const first = await next((x) => x.type === "chat_text" && (x.payload.text ?? "").includes("Mario"), "the bot's text");
    expect(first.payload.text).toBe(SAFE);
    expect(first.body).toBe(PLAIN);
    const choice = await next((x) => x.type === "chat_dynamic" && x.payload.text === "Scegli", "the buttons");
    expect(choice.payload.data?.buttons).toEqual([{ title: "Sì", payload: "/si" }]);
    const image = await next((x) => (x.payload.text ?? "") === "immagine", "the text whose image was dropped");
    expect(image.payload.data).not.toHaveProperty("image");
    expect(JSON.stringify([first, choice, image])).not.toMatch(/script|onmouseover|onclick|javascript|onerror|style=|\\u000[127]/);
  });

  it("from the Genesys agent: the same", async () => {
    const thread = v2Thread(ALICE, "Operatore");
    await alice.send(chatText("voglio un operatore", data, { to: SUPPORTO, thread }));
    const chat = await sim.waitForChat(() => true, 8000);
    chat.agentJoin('<i onclick="x">Giulia</i>\u0003');
    const joined = await next((x) => x.payload.code === "ROUTER_OPERATOR_JOINED#0001", "the joined notice");
    expect(joined.payload.data).toMatchObject({ nickname: "Giulia" });
    chat.agentSay(HOSTILE);
    const said = await next((x) => x.type === "chat_text" && x.payload.data?.conversationType === "operator", "the agent's text");
    expect(said.payload.text).toBe(SAFE);
    expect(said.body).toBe(PLAIN);
    expect(said.payload.data).toMatchObject({ operator: { nickname: "Giulia" } });
  });
});
