// Operator episodes when things go wrong (issue 6): idle and queue timeouts,
// Genesys failing mid-chat (fatal and not), Genesys unreachable, the router
// restarted mid-chat on the same database, and a vote asked for too late.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import type { Config } from "../../src/config/schema.js";
import { startGmsSimulator, type SimChat } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatNotice, chatText, isError, isNotice, isX, readError, readX, routerThread, v2Thread } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

type Sim = Awaited<ReturnType<typeof startGmsSimulator>>;

const ALICE = "393471111111";
const SERVICE = "customer-support";
let prosody: Prosody;
let bot: SampleBot;
let sim: Sim;
let config: Config;
let router: App;
let alice: TestClient;
let SUPPORTO: string;
let dataDir: string;

const data = () => ({ apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false });

beforeAll(async () => {
  prosody = await startProsody({ users: [{ username: ALICE, password: "a" }] });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  bot = await startSampleBot();
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  dataDir = mkdtempSync(join(tmpdir(), "eime-router-data-"));
  config = routerConfig(prosody, {
    // A database on disk, so a restarted router finds everything.
    database: { dataDir },
    genesys: {
      url: sim.url,
      pollIntervalMs: 150,
      idleTimeoutMs: 1500,
      idleWarningMs: 700,
      queueTimeoutMs: 2500,
      queuedNoticeIntervalMs: 400,
    },
    voting: { windowMs: 1000 },
  });
  router = await startRouter(config, testDirectory(bot.url, { genesysService: SERVICE }));
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

/** Asks the bot for an operator in a new chat title; returns the Genesys chat, and the agent joined if `agent` is given. */
async function operatorChat(title: string, agent?: string): Promise<SimChat> {
  await alice.send(chatText("operatore", data(), { to: SUPPORTO, thread: v2Thread(ALICE, title) }));
  // This title's own notice (an earlier chat may have left queue notices in the inbox).
  const mine = routerThread("supporto", ALICE, title);
  await alice.waitFor((s) => isNotice("ROUTER_QUEUED#0001")(s) && readX(s)!.thread!.startsWith(`${mine}_`), 5000);
  const c = await router.store.conversations.findByKey(`${ALICE}@${prosody.userDomain}`, "supporto", title);
  const chat = await sim.waitForChat((s) => s.userData.conversationId === c!.id, 5000);
  if (agent) {
    chat.agentJoin(agent);
    await alice.waitFor(isNotice("FOREGROUND_CONVERSATION#0001"), 5000);
  }
  return chat;
}

describe("timeouts", () => {
  it("an operator silent for idleTimeoutMs: GENESYS#0003 and the chat is left", async () => {
    const chat = await operatorChat("Idle", "Giulia");
    const started = Date.now();
    // First the warning, with when it will close (issue 17), then the close.
    const warning = readX(await alice.waitFor(isNotice("ROUTER_INACTIVITY_WARNING#0001"), 5000))!;
    const closesAt = Date.parse(String(warning.payload.data?.["closesAt"]));
    expect(closesAt - Date.now()).toBeGreaterThan(200);
    expect(closesAt - Date.now()).toBeLessThanOrEqual(800);
    await alice.waitFor(isNotice("GENESYS#0003"), 5000);
    expect(Date.now()).toBeGreaterThanOrEqual(closesAt - 50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    await sim.waitFor(chat.chatId, (c) => c.ended && c.endReason === "client-disconnect", 5000);
  });

  it("a user message after the warning keeps the episode open", async () => {
    const chat = await operatorChat("Sveglia", "Nadia");
    const c = await router.store.conversations.findByKey(`${ALICE}@${prosody.userDomain}`, "supporto", "Sveglia");
    const episodeThread = `${routerThread("supporto", ALICE, "Sveglia")}_${c!.episode!.uuid}`;
    const warning = readX(await alice.waitFor(isNotice("ROUTER_INACTIVITY_WARNING#0001"), 5000))!;
    expect(warning.thread).toBe(episodeThread);
    await alice.send(chatText("sono ancora qui", data(), { to: SUPPORTO, thread: episodeThread }));
    await sim.waitFor(chat.chatId, (s) => s.clientMessages().some((m) => m.text === "sono ancora qui"), 5000);
    const closesAt = Date.parse(String(warning.payload.data?.["closesAt"]));
    await new Promise((r) => setTimeout(r, Math.max(0, closesAt - Date.now()) + 300));
    expect(alice.collect(isNotice("GENESYS#0003")).items).toEqual([]);
    expect(chat.ended).toBe(false);
    chat.agentLeave();
    await alice.waitFor(isNotice("GENESYS#0002"), 5000);
  });

  it("Chat Server's idle control (Notice IDLE_CONTROL_ALERT, then IDLE_CONTROL_CLOSE): the warning, then GENESYS#0003", async () => {
    const chat = await operatorChat("IdleControl", "Ugo");
    chat.idleControl("alert");
    const warning = readX(await alice.waitFor(isNotice("ROUTER_INACTIVITY_WARNING#0001"), 5000))!;
    expect(warning.payload.data?.["closesAt"]).toMatch(/^\d{4}-\d\d-\d\dT/);
    chat.idleControl("close");
    await alice.waitFor(isNotice("GENESYS#0003"), 5000);
  });

  it("Genesys closing an idle chat (IdleClose): GENESYS#0003", async () => {
    const chat = await operatorChat("IdleClose", "Marco");
    chat.idleClose();
    expect(readX(await alice.waitFor(isNotice("GENESYS#0003"), 5000))!.payload.code).toBe("GENESYS#0003");
  });

  it("nobody answers within queueTimeoutMs: GENESYS#0003 and the request is withdrawn", async () => {
    const chat = await operatorChat("Coda");
    await alice.waitFor(isNotice("GENESYS#0003"), 6000);
    await sim.waitFor(chat.chatId, (c) => c.ended, 5000);
  });
});

describe("Genesys failures", () => {
  it("an error that ends the chat: GENESYS#0001", async () => {
    const chat = await operatorChat("Errore", "Sara");
    sim.inject({ op: "refresh", chatId: chat.chatId, kind: "statusCode", statusCode: 2, endsChat: true });
    const notice = readX(await alice.waitFor(isNotice("GENESYS#0001"), 5000))!;
    expect(notice.payload.text).toBe("La conversazione con l'operatore è stata chiusa a causa di un errore.");
    // Back with the bot.
    await alice.waitFor((s) => isX()(s) && (readX(s)!.payload.text ?? "").startsWith("Bentornato"), 5000);
  });

  it("an error that does not end it: GENESYS_ERROR#0001 once, and the chat goes on", async () => {
    const chat = await operatorChat("Avviso", "Luca");
    sim.inject({ op: "refresh", chatId: chat.chatId, kind: "statusCode", statusCode: 1, endsChat: false, times: 3 });
    await alice.waitFor(isNotice("GENESYS_ERROR#0001"), 5000);
    chat.agentSay("Tutto a posto");
    await alice.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "Tutto a posto", 5000);
    expect(alice.collect(isNotice("GENESYS_ERROR#0001")).items).toEqual([]); // told once, not per failed poll
    chat.agentLeave();
    await alice.waitFor(isNotice("GENESYS#0002"), 5000);
  });

  it("Genesys changes the chat's alias: the router takes it, and the user's next message still reaches the agent", async () => {
    const chat = await operatorChat("Alias", "Pia");
    const key = [`${ALICE}@${prosody.userDomain}`, "supporto", "Alias"] as const;
    const episodeThread = `${routerThread("supporto", ALICE, "Alias")}_${(await router.store.conversations.findByKey(...key))!.episode!.uuid}`;
    const next = chat.changeAlias();
    chat.agentSay("dopo il cambio");
    await alice.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "dopo il cambio", 5000);
    // The poll that brought the message carried the new alias; the old one is refused from now on.
    await alice.send(chatText("ci sei?", data(), { to: SUPPORTO, thread: episodeThread }));
    await sim.waitFor(chat.chatId, (c) => c.clientMessages().some((m) => m.text === "ci sei?"), 5000);
    const c = await router.store.conversations.findByKey(...key);
    expect(c!.episode!.chat!.alias).toBe(next);
    expect(alice.collect(isNotice("GENESYS_ERROR#0001")).items).toEqual([]);
    chat.agentLeave();
    await alice.waitFor(isNotice("GENESYS#0002"), 5000);
  });

  it("Genesys unreachable (HTTP 500 on every poll): GENESYS_ERROR#0001, then GENESYS#0001", async () => {
    const chat = await operatorChat("Irraggiungibile", "Anna");
    sim.inject({ op: "refresh", chatId: chat.chatId, kind: "http500", times: 20 });
    await alice.waitFor(isNotice("GENESYS_ERROR#0001"), 5000);
    await alice.waitFor(isNotice("GENESYS#0001"), 8000);
    sim.clearInjections();
  });
});

describe("the router restarted mid-chat", () => {
  it("resumes polling where it stopped: nothing lost, nothing repeated", async () => {
    const chat = await operatorChat("Riavvio", "Giulia");
    chat.agentSay("prima");
    await alice.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "prima", 5000);
    await router.stop();
    chat.agentSay("durante 1");
    chat.agentSay("durante 2");
    router = await startRouter(config);
    const texts = alice.collect((s) => isX("chat_text")(s) && readX(s)!.payload.data?.conversationType === "operator");
    await texts.until(2, 10_000);
    chat.agentSay("dopo");
    await texts.until(3, 5000);
    await new Promise((r) => setTimeout(r, 500)); // anything repeated would arrive by now
    expect(texts.items.map((s) => readX(s)!.payload.text)).toEqual(["durante 1", "durante 2", "dopo"]);
    texts.stop();
    await alice.send(chatText("ci sono ancora", data(), { to: SUPPORTO, thread: v2Thread(ALICE, "Riavvio") }));
    await sim.waitFor(chat.chatId, (c) => c.clientMessages().some((m) => m.text === "ci sono ancora"), 5000);
    chat.agentLeave();
    await alice.waitFor(isNotice("GENESYS#0002"), 5000);
  }, 60_000);
});

describe("voting window", () => {
  it("a vote asked for after the window is refused clearly", async () => {
    const chat = await operatorChat("Tardi", "Giulia");
    chat.agentLeave();
    await alice.waitFor(isNotice("GENESYS#0002"), 5000);
    await new Promise((r) => setTimeout(r, 1200));
    await alice.send(
      chatNotice("GENESYS_OPEN_FOR_VOTING#0001", data(), { to: SUPPORTO, thread: v2Thread(ALICE, "Tardi"), id: "vote-late" }),
    );
    const err = readError(await alice.waitFor(isError("vote-late")))!;
    expect(err).toMatchObject({ condition: "not-allowed", app: "voting-closed" });
    expect(err.text).toMatch(/^payload\.code: voting is open only/);
  });
});
