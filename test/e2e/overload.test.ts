// Nothing lost under load (design.md rules 1 and 7): with more messages than
// the router may hold, and when it is stopped in the middle of a flood, every
// message is either stored (the client gets a receipt) or answered with an
// error telling it to send again — none is silently dropped.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import type { Config } from "../../src/config/schema.js";
import { createLogging } from "../../src/log.js";
import { openStore } from "../../src/store/index.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isX, readError, readX, v2Thread } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const USER = "393471111111";
let prosody: Prosody;
let bot: SampleBot;
let client: TestClient;
let dataDir: string;
let config: Config;

beforeAll(async () => {
  prosody = await startProsody({ users: [{ username: USER, password: "p" }] });
  bot = await startSampleBot({ mode: { delayMs: 200 } });
  client = await connectClient({ prosody, username: USER, password: "p", resource: "android-1" });
  dataDir = mkdtempSync(join(tmpdir(), "eime-overload-"));
  config = routerConfig(prosody, { database: { dataDir }, xmpp: { maxInFlight: 20 } });
}, 60_000);

afterAll(async () => {
  await client?.stop();
  await bot?.stop();
  await prosody?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const receiptOf = (el: Element) => el.getChild("received", "urn:xmpp:receipts")?.attrs.id as string | undefined;

/** Sends `n` messages on `n` conversations at once; resolves with what came back for each id. */
async function flood(n: number, tag: string, during?: () => Promise<void>) {
  const ids = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
  const answers = client.collect(
    (el) => ids.includes(receiptOf(el) ?? "") || (el.attrs.type === "error" && ids.includes(String(el.attrs.id))),
  );
  await Promise.all(
    ids.map((id, i) =>
      client.send(
        chatText(
          `m ${id}`,
          { apiVersion: 2.1, os: "android" },
          { to: `supporto@${prosody.componentDomain}`, thread: v2Thread(USER, `${tag} ${i}`), id, receipt: true },
        ),
      ),
    ),
  );
  await during?.();
  const deadline = Date.now() + 20_000;
  const answered = () => new Set(answers.items.map((el) => receiptOf(el) ?? String(el.attrs.id)));
  while (answered().size < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  answers.stop();
  const receipts = new Set(answers.items.flatMap((el) => (receiptOf(el) ? [receiptOf(el)!] : [])));
  const errors = new Map(
    answers.items.filter((el) => el.attrs.type === "error").map((el) => [String(el.attrs.id), readError(el)!] as const),
  );
  return { ids, receipts, errors };
}

async function storedIds(app: App | null, ids: string[]): Promise<Set<string>> {
  const store = app ? app.store : await openStore(config.database, createLogging({ level: "silent", modules: {} }));
  try {
    const { rows } = await store.db.query<{ k: string }>("SELECT dedupe_key AS k FROM messages WHERE dedupe_key = ANY($1::text[])", [ids]);
    return new Set(rows.map((r) => r.k));
  } finally {
    if (!app) await store.close();
  }
}

describe("more messages than the router may hold", () => {
  it("stores what it can, answers BUSY (resource-constraint, wait) for the rest, and answers every stored one", async () => {
    const router = await startRouter(config, testDirectory(bot.url));
    try {
      const { ids, receipts, errors } = await flood(120, "over");
      expect(receipts.size + errors.size).toBe(ids.length); // every message answered
      expect(errors.size).toBeGreaterThan(0);
      for (const e of errors.values()) expect(e).toMatchObject({ condition: "resource-constraint", app: "busy" });
      expect(await storedIds(router, ids)).toEqual(receipts); // what was acknowledged is exactly what was stored
      // Every stored message gets its bot reply.
      const echoes = new Set<string>();
      const deadline = Date.now() + 20_000;
      while (echoes.size < receipts.size && Date.now() < deadline) {
        const el = await client.waitFor(
          (s) => isX("chat_text")(s) && (readX(s)!.payload.text ?? "").startsWith("Hai scritto: m over-"),
          20_000,
        );
        echoes.add(readX(el)!.payload.text!.slice("Hai scritto: m ".length));
      }
      expect(echoes).toEqual(receipts);
    } finally {
      await router.stop();
    }
  }, 90_000);
});

describe("stopped in the middle of a flood", () => {
  it("every message is stored or answered; nothing vanishes", async () => {
    const router = await startRouter({ ...config, xmpp: { ...config.xmpp, maxInFlight: 1000 } });
    const { ids, receipts, errors } = await flood(200, "stop", async () => {
      await new Promise((r) => setTimeout(r, 30));
      await router.stop();
    });
    const stored = await storedIds(null, ids);
    for (const id of receipts) expect(stored.has(id)).toBe(true);
    // Each message is stored, or the client was told (BUSY from the router, or the server's bounce once the router was gone).
    const lost = ids.filter((id) => !stored.has(id) && !errors.has(id));
    expect(lost).toEqual([]);
    for (const [id, e] of errors)
      if (!stored.has(id))
        expect(["resource-constraint", "service-unavailable", "remote-server-timeout", "recipient-unavailable"]).toContain(e.condition);
  }, 90_000);
});
