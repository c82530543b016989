// The demo (README quick start): the whole stack on loopback with nothing to
// configure — a private Prosody, the router on embedded PGlite, the sample
// bot, the GMS simulator with a scripted agent, a directory with a few
// channels. It plays one showcase conversation as a real XMPP client and
// prints it as a transcript, then stays up until Ctrl-C, which stops
// everything it started.
import { createHash } from "node:crypto";
import xml, { type Element } from "@xmpp/xml";
import { buildApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import type { DirectoryTree } from "../../src/core/model.js";
import { createLogging } from "../../src/log.js";
import { connectClient, type TestClient } from "../../test/e2e/harness/client.js";
import { isPortFree } from "../../test/e2e/harness/free-port.js";
import { startProsody, type Prosody } from "../../test/e2e/harness/prosody.js";
import { startGmsSimulator } from "../gms-simulator/server.js";
import { startSampleBot } from "../sample-bot/bot.js";

const SHOWCASE_USER = { msisdn: "393471111111", password: "demo" };
const GUEST_USER = { msisdn: "393472222222", password: "demo" };
/** A user name, not an MSISDN: the plain-client showcase (protocol.md section 9). */
const PLAIN_USER = { username: "anna", password: "demo" };
const ADMIN_TOKEN = "demo-admin-token";
const NS_X = "urn:eime:x:0";

const started = Date.now();
const stamp = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
const say = (line: string) => process.stdout.write(`${line}\n`);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function directory(botUrl: string): DirectoryTree {
  const info = (name: string, status: string, defaultMessage?: string) => ({
    name,
    status,
    imageUrl: "",
    thumbUrl: "",
    ...(defaultMessage === undefined ? {} : { defaultMessage }),
  });
  const bot = { url: botUrl };
  return {
    items: [
      {
        address: "supporto",
        type: "channel",
        mobileIsPublished: true,
        webIsPublished: true,
        info: info("Supporto", "Assistenza clienti", "Ciao! Scrivi qui per parlare con noi."),
        route: { mode: "bot+operator", bot, genesys: { serviceName: "customer-support", premiumServiceName: "customer-support-premium" } },
      },
      {
        address: "offerte",
        type: "channel",
        mobileIsPublished: true,
        webIsPublished: true,
        info: info("Offerte", "Le offerte del mese", "Chiedimi le offerte di oggi."),
        route: { mode: "bot", bot },
      },
      {
        address: "mobile_ticketing_group",
        type: "group",
        mobileIsPublished: true,
        webIsPublished: false,
        info: info("Mobile Ticketing", "Acquista qui i tuoi biglietti"),
        items: [
          {
            address: "atm_milano",
            type: "channel",
            serverAddress: "myticket",
            mobileIsPublished: true,
            webIsPublished: false,
            info: info("ATM Milano", "Qui i biglietti di Milano", "Ciao, qui puoi acquistare i biglietti di ATM Milano"),
            route: { mode: "bot", bot },
          },
        ],
      },
    ],
  };
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const thread = (msisdn: string, title: string) => `${b64(createHash("sha256").update(msisdn).digest("hex"))}|$|${b64(title)}`;

function xMessage(to: string, threadValue: string, type: "chat_text" | "chat_notice", payload: Record<string, unknown>): Element {
  return xml(
    "message",
    { to, type: "chat", id: `demo-${Math.random().toString(36).slice(2)}` },
    xml("thread", {}, threadValue),
    xml(
      "x",
      { xmlns: NS_X },
      xml("type", {}, type),
      xml("action", {}, type),
      xml("payload", {}, JSON.stringify(payload)),
      xml("lang", {}, "it"),
    ),
    ...(typeof payload.text === "string" ? [xml("body", {}, payload.text)] : []),
  );
}

interface Read {
  type: string;
  text: string;
  code?: string;
  data: Record<string, unknown>;
}

function readX(el: Element): Read | null {
  const x = el.getChild("x", NS_X);
  if (!x || el.attrs.type === "error") return null;
  const p = JSON.parse(x.getChildText("payload") ?? "{}") as { text?: string; code?: string; data?: Record<string, unknown> };
  return { type: x.getChildText("type") ?? "", text: p.text ?? "", ...(p.code ? { code: p.code } : {}), data: p.data ?? {} };
}

/** Prints what the router sends to the showcase user, as it arrives. */
function printIncoming(client: TestClient, channelName: string): () => void {
  const print = (el: Element) => {
    if (!el.is("message")) return;
    if (el.getChild("composing", "http://jabber.org/protocol/chatstates")) {
      say(dim(`${stamp()} ${channelName}: …sta scrivendo`));
      return;
    }
    const r = readX(el);
    if (!r) return;
    if (r.type === "chat_notice") {
      say(`${stamp()} ${dim(`notice ${r.code}`)} ${r.text}`);
      return;
    }
    const nickname = (r.data.operator as { nickname?: string } | undefined)?.nickname;
    const who = r.data.conversationType === "operator" ? `operatore ${nickname ?? ""}`.trim() : "bot";
    say(`${stamp()} ${bold(channelName)} (${who}): ${r.text.replace(/\n/g, "\n" + " ".repeat(12))}`);
  };
  client.xmpp.on("stanza", print);
  return () => client.xmpp.off("stanza", print);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function showcase(prosody: Prosody, sim: Awaited<ReturnType<typeof startGmsSimulator>>): Promise<void> {
  const D = prosody.componentDomain;
  const client = await connectClient({
    prosody,
    username: SHOWCASE_USER.msisdn,
    password: SHOWCASE_USER.password,
    resource: "android-demo",
  });
  try {
    say(bold("\n— Showcase: a real XMPP client talks to the router —\n"));
    // 1. The directory, from the vCard of the component domain (protocol.md section 6).
    say(`${stamp()} the client asks ${D} for its vCard (the channel directory)`);
    const iq = await client.iq(xml("iq", { type: "get", to: D, id: "dir" }, xml("vCard", { xmlns: "vcard-temp" })));
    const card = iq.getChild("vCard", "vcard-temp")!;
    const tree = JSON.parse(card.getChildText("DESC") ?? "{}") as DirectoryTree;
    for (const item of tree.items) {
      say(`${stamp()}   ${item.type === "group" ? "📁" : "💬"} ${item.info.name} — ${item.info.status}`);
      for (const c of item.items ?? []) say(`${stamp()}       💬 ${c.info.name} — ${c.info.status}`);
    }

    // 2. A v2.1 conversation with the bot of "Supporto".
    const to = `supporto@${D}`;
    const t = thread(SHOWCASE_USER.msisdn, "Supporto");
    const data = { apiVersion: 2.1, os: "android", appVersion: "1.0.0", premium: false };
    const stop = printIncoming(client, "Supporto");
    const userSays = async (text: string, waitFor: (r: Read) => boolean) => {
      say(`${stamp()} ${bold("user")}: ${text}`);
      const next = client.waitFor((el) => {
        const r = readX(el);
        return !!r && waitFor(r);
      }, 15_000);
      await client.send(xMessage(to, t, "chat_text", { text, data }));
      await next;
      await pause(300);
    };
    await userSays("buongiorno", (r) => r.text.startsWith("Hai scritto"));
    await userSays("menu", (r) => r.type === "chat_interactive" && r.text.includes("1."));
    // 3. Picking option 2 ("Parla con un operatore"): the bot hands over to Genesys.
    const joined = client.waitFor((el) => readX(el)?.code === "FOREGROUND_CONVERSATION#0001", 20_000);
    await userSays("2", (r) => r.code === "ROUTER_QUEUED#0001");
    await joined;
    const greeting = client.waitFor((el) => readX(el)?.data.conversationType === "operator", 10_000);
    await greeting;
    await pause(300);
    const chat = sim.chats().at(-1)!;
    await userSays(
      "Il mio modem non si connette da stamattina.",
      (r) => r.data.conversationType === "operator" && r.text.includes("modem"),
    );
    // 4. The agent closes; the bot takes the conversation back.
    say(dim(`${stamp()} (the agent closes the chat in Genesys)`));
    const back = client.waitFor((el) => (readX(el)?.text ?? "").startsWith("Bentornato"), 10_000);
    chat.agentLeave();
    await back;
    await pause(300);
    stop();
  } finally {
    await client.stop();
  }
}

/**
 * What a stock client (Conversations, Dino, Gajim, profanity…) sends: a
 * <body>, no x element (protocol.md section 9). The router answers in plain
 * text with numbered options, and the words "operatore"/"chiudi" are commands.
 */
async function plainShowcase(prosody: Prosody): Promise<void> {
  const D = prosody.componentDomain;
  const to = `supporto@${D}`;
  const client = await connectClient({ prosody, username: PLAIN_USER.username, password: PLAIN_USER.password, resource: "gajim" });
  try {
    say(bold("\n— A stock XMPP client (no EiMe app): plain messages —\n"));
    const print = (el: Element) => {
      if (!el.is("message") || el.attrs.from !== to || el.attrs.type === "error") return;
      if (el.getChild("composing", "http://jabber.org/protocol/chatstates")) return say(dim(`${stamp()} Supporto: …sta scrivendo`));
      const body = el.getChildText("body");
      if (body) say(`${stamp()} ${bold("Supporto")}: ${body.replace(/\n/g, "\n" + " ".repeat(20))}`);
    };
    client.xmpp.on("stanza", print);
    const userSays = async (text: string, until: (body: string) => boolean, timeoutMs = 15_000) => {
      say(`${stamp()} ${bold(PLAIN_USER.username)}: ${text}`);
      const next = client.waitFor((el) => el.is("message") && el.attrs.from === to && until(el.getChildText("body") ?? ""), timeoutMs);
      await client.send(xml("message", { to, type: "chat", "xml:lang": "it" }, xml("body", {}, text)));
      await next;
      await pause(300);
    };
    await userSays("buongiorno", (b) => b.startsWith("Hai scritto"));
    await userSays("menu", (b) => b.includes("2. Parla con un operatore"));
    await userSays("2", (b) => b.includes("preso in carico"), 20_000);
    await userSays("La fattura di novembre è sbagliata.", (b) => b.includes("fattura"));
    await userSays("chiudi", (b) => b.startsWith("Bentornato"));
    client.xmpp.off("stanza", print);
  } finally {
    await client.stop();
  }
}

async function main(): Promise<void> {
  const stops: (() => Promise<unknown>)[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("\nStopping everything the demo started…");
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));

  try {
    say(bold("eime-router demo") + dim(" — everything on 127.0.0.1, nothing to configure\n"));
    const prosody = await startProsody({
      preferredC2sPort: 5222,
      users: [
        { username: SHOWCASE_USER.msisdn, password: SHOWCASE_USER.password },
        { username: GUEST_USER.msisdn, password: GUEST_USER.password },
        PLAIN_USER,
      ],
    });
    stops.push(() => prosody.stop());
    say(`${stamp()} Prosody          xmpp://127.0.0.1:${prosody.c2sPort} (users) · component port ${prosody.componentPort}`);

    const bot = await startSampleBot();
    stops.push(() => bot.stop());
    say(`${stamp()} sample bot       ${bot.url}`);

    const sim = await startGmsSimulator({
      clientTimeoutMs: 0,
      script: {
        joinAfterMs: 2500,
        nickname: "Giulia",
        greeting: "Buongiorno, sono Giulia del servizio clienti. Come posso aiutarla?",
        typingBeforeReplyMs: 800,
        replies: (text) => `Mi dispiace per il problema ("${text}"). Ho aperto una segnalazione: riceverà un SMS entro un'ora.`,
      },
    });
    stops.push(() => sim.stop());
    say(`${stamp()} GMS simulator    ${sim.url} (agent Giulia joins after 2.5 s)`);

    const httpPort = (await isPortFree(8080)) ? 8080 : 0;
    const config = loadConfig({
      env: {},
      argv: [],
      overrides: {
        instanceId: "demo",
        xmpp: {
          service: prosody.componentService,
          domain: prosody.componentDomain,
          secret: prosody.secret,
          userDomain: prosody.userDomain,
        },
        database: { dataDir: "memory://" },
        http: { port: httpPort, adminToken: ADMIN_TOKEN },
        security: { allowPrivateTargets: true }, // the sample bot and the GMS simulator run on loopback
        genesys: { url: sim.url, pollIntervalMs: 500, queuedNoticeIntervalMs: 1000 },
        log: { level: "warn" },
      },
    });
    const router: App = buildApp(config, { logging: createLogging(config.log) });
    await router.start();
    stops.push(() => router.stop());
    await router.store.directory.replaceTree(directory(bot.url));
    await router.store.users.upsertMany([
      { msisdn: SHOWCASE_USER.msisdn, name: "Mario Rossi" },
      { msisdn: GUEST_USER.msisdn, name: "Luca Bianchi" },
    ]);
    say(`${stamp()} router           ${config.xmpp.domain} on embedded PGlite · HTTP ${router.httpAddress}`);

    await showcase(prosody, sim);
    await plainShowcase(prosody);

    const d = config.xmpp.domain;
    say(bold("\n— The demo stays up: connect any XMPP client (Conversations, Dino, Gajim, profanity…) —\n"));
    say(`  server      127.0.0.1   port ${prosody.c2sPort}   (no TLS; allow plain-text authentication)`);
    say(`  user        ${GUEST_USER.msisdn}@${prosody.userDomain}   password ${GUEST_USER.password}`);
    say(`              (or ${SHOWCASE_USER.msisdn}@${prosody.userDomain}, or ${PLAIN_USER.username}@${prosody.userDomain}: password demo)`);
    say(`  then        add supporto@${d} as a contact (it shows online) and write "buongiorno";`);
    say(`              answer an option with its number or its title; "operatore" asks for Giulia, "chiudi" ends,`);
    say(`              "ricomincia" starts again (also as ad-hoc commands of supporto@${d}); docs/clients.md`);
    say(`  directory   browse ${d} (disco#items lists the channels), or its vCard (DESC holds them as JSON)`);
    say(`  channels    supporto@${d}, offerte@${d}, myticket@${d} (ATM Milano); EiMe apps use x stanzas (docs/protocol.md)`);
    say(`  HTTP        ${router.httpAddress}/status · /health/ready · /metrics`);
    say(`  admin API   curl -H 'Authorization: Bearer ${ADMIN_TOKEN}' ${router.httpAddress}/admin/directory`);
    say(`\n  Ctrl-C stops everything the demo started.`);
  } catch (err) {
    process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll(1);
  }
}

void main();
