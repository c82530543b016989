// Genesys Cloud (issue 18): the router restarted mid-episode on the same
// database. Agent messages sent while it is down are retried by Genesys
// (the simulator, as Genesys: 5 retries) and arrive once; the episode's state
// (who joined) survives, and the agent leaving is still noticed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import type { Config } from "../../src/config/schema.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { cloudSettings, startCloudSimulator } from "./support/genesys-cloud.js";
import type { GenesysCloudSimulator } from "../support/genesys-cloud/simulator.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { freePort } from "./harness/free-port.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isNotice, isX, readX, v2Thread } from "./support/eime.js";
import { cloudDirectory, routerConfig, startRouter } from "./support/router.js";

const ALICE = "393475553333";
const INTEGRATION = "0c3d7a52-5e0e-4a6f-9d1e-000000000019";
let prosody: Prosody;
let bot: SampleBot;
let sim: GenesysCloudSimulator;
let router: App;
let alice: TestClient;
let config: Config;
let dataDir: string;
let SUPPORTO: string;

const data = () => ({ apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false });

beforeAll(async () => {
  prosody = await startProsody({ users: [{ username: ALICE, password: "a" }] });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  bot = await startSampleBot();
  // Retries 3 s apart: the restart fits within Genesys's five.
  sim = await startCloudSimulator({ retryDelayMs: 3000 });
  dataDir = mkdtempSync(join(tmpdir(), "eime-router-cloud-"));
  const port = await freePort();
  config = routerConfig(prosody, {
    database: { dataDir },
    http: { port },
    genesys: { pollIntervalMs: 150 },
    genesysCloud: cloudSettings(sim),
  });
  router = await startRouter(config, cloudDirectory(bot.url, INTEGRATION));
  sim.setWebhook(INTEGRATION, `${router.httpAddress}/genesys-cloud/${INTEGRATION}/webhook`);
  alice = await connectClient({ prosody, username: ALICE, password: "a", resource: "android-1" });
}, 90_000);

afterAll(async () => {
  await alice?.stop();
  await router?.stop();
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("the router restarted mid-episode", () => {
  it("agent messages sent while it was down arrive once; the agent leaving is still seen", async () => {
    const thread = v2Thread(ALICE, "Riavvio");
    await alice.send(chatText("voglio un operatore", data(), { to: SUPPORTO, thread }));
    await alice.waitFor(isNotice("ROUTER_QUEUED#0001"), 5000);
    const c = await router.store.conversations.findByKey(`${ALICE}@${prosody.userDomain}`, "supporto", "Riavvio");
    const conv = await sim.waitForConversation((x) => x.fromId === c!.id);
    conv.agentJoin("Giulia");
    await conv.agentSay("prima");
    await alice.waitFor(isNotice("ROUTER_OPERATOR_JOINED#0001"), 5000);
    const texts = alice.collect((s) => isX("chat_text")(s) && readX(s)!.payload.data?.conversationType === "operator");

    await router.stop();
    const during = conv.agentSay("durante"); // refused while down; Genesys retries
    router = await startRouter(config);
    expect((await during).statuses.at(-1)).toBe(200);
    await conv.agentSay("dopo");
    await texts.until(3, 10_000);
    await new Promise((r) => setTimeout(r, 500)); // anything repeated would arrive by now
    expect(texts.items.map((s) => readX(s)!.payload.text)).toEqual(["prima", "durante", "dopo"]);
    texts.stop();
    // Joined once: the restarted router knew the agent had joined.
    await expect(alice.waitFor(isNotice("ROUTER_OPERATOR_JOINED#0001"), 300)).rejects.toThrow();

    conv.agentLeave();
    await alice.waitFor(isNotice("GENESYS#0002"), 5000);
  }, 90_000);
});
