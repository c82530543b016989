// Attachments from a plain client on a real Prosody (issue 16, protocol.md
// section 10): an XEP-0066 message reaches the sample bot as
// metadata.attachments; a file from a host not allowed is refused with
// ROUTER_ATTACHMENT_REFUSED#0001 in the body while the text still reaches the bot.
// (Not yet: the XEP-0363 upload itself through Prosody's http_file_share.)
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

let prosody: Prosody;
let bot: SampleBot;
let router: App;
let mario: TestClient;
let SUPPORTO: string;
const SHARE = "upload.files.test";

beforeAll(async () => {
  prosody = await startProsody({ users: [{ username: "mario", password: "m" }] });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  bot = await startSampleBot();
  router = await startRouter(routerConfig(prosody, { attachments: { allowedHosts: [SHARE] } }), testDirectory(bot.url));
  mario = await connectClient({ prosody, username: "mario", password: "m", resource: "conversations" });
});

afterAll(async () => {
  await mario?.stop();
  await router?.stop();
  await bot?.stop();
  await prosody?.stop();
});

let n = 0;
/** What Conversations sends after an XEP-0363 upload: the URL as the body and as XEP-0066 oob. */
function withFile(body: string, url: string): Element {
  return xml(
    "message",
    { to: SUPPORTO, type: "chat", id: `f${++n}`, "xml:lang": "it" },
    xml("body", {}, body),
    xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, url)),
  );
}

const bodyOf = (s: Element) => s.getChildText("body") ?? "";
const from = (test: (b: string) => boolean) => (s: Element) => s.is("message") && s.attrs.from === SUPPORTO && test(bodyOf(s));

describe("attachments from a plain client", () => {
  it("the bot sees the file in metadata.attachments; the URL alone is not text", async () => {
    const url = `https://${SHARE}/share/abc/modem.jpg`;
    await mario.send(withFile(url, url));
    await mario.waitFor(
      from((b) => b.startsWith("Non ho capito")),
      8000,
    ); // the sample bot's answer to no text
    const seen = bot.requests.find((r) => r.metadata?.event === "message" && JSON.stringify(r.metadata).includes("modem.jpg"));
    expect(seen?.message).toBe("");
    expect((seen?.metadata as Record<string, unknown>)["attachments"]).toEqual([{ url, mediaType: "image/jpeg", name: null, size: null }]);
  });

  it("a host not allowed is refused with the reason, and the text still reaches the bot", async () => {
    await mario.send(withFile("guarda https://evil.example/x.png", "https://evil.example/x.png"));
    const refusal = await mario.waitFor(
      from((b) => b.startsWith("Il file")),
      8000,
    );
    expect(bodyOf(refusal)).toBe("Il file x.png non è stato inoltrato: non proviene da un indirizzo ammesso.");
    await mario.waitFor(
      from((b) => b === "Hai scritto: guarda"),
      8000,
    );
    const seen = bot.requests.find((r) => r.message === "guarda");
    expect(seen?.metadata).not.toHaveProperty("attachments");
  });
});
