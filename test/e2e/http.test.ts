// The HTTP side of a running router on a real Prosody: an admin edit made
// over real HTTP is in the next directory vCard a real client fetches, and
// /health/ready follows the component connection (Prosody killed: 503;
// back: 200). /metrics is served on a listener of its own here
// (http.metricsPort), and the admin listener no longer answers it.
import xml, { type Element } from "@xmpp/xml";
import axios, { type AxiosInstance } from "axios";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const USER = "393471111111";
const PW = "pw-1";
const TOKEN = "e2e-admin-token-42";
// No message is sent in this file: the bot is never called.
const BOT_URL = "http://127.0.0.1:9/bot";

let prosody: Prosody;
let router: App;
let web: TestClient;
let http: AxiosInstance;
let D: string;

beforeAll(async () => {
  prosody = await startProsody({ users: [{ username: USER, password: PW }] });
  D = prosody.componentDomain;
  router = await startRouter(
    routerConfig(prosody, { http: { adminToken: TOKEN, metricsHost: "127.0.0.1", metricsPort: 0 } }),
    testDirectory(BOT_URL),
  );
  http = axios.create({ baseURL: router.httpAddress!, timeout: 3000, validateStatus: () => true });
  web = await connectClient({ prosody, username: USER, password: PW, resource: "web-1" });
});

afterAll(async () => {
  await web?.stop();
  await router?.stop();
  await prosody?.stop();
});

const admin = { headers: { authorization: `Bearer ${TOKEN}` } };

/** The DESC JSON of the directory vCard, as far as these tests read it. */
interface Desc {
  items: { address: string; info: { status: string }; items?: { address: string }[] }[];
}

async function desc(client: TestClient): Promise<Desc> {
  const iq = await client.iq(xml("iq", { type: "get", to: D, id: `v-${Math.random()}` }, xml("vCard", { xmlns: "vcard-temp" })));
  const card = iq.children.find((c): c is Element => typeof c !== "string")!;
  return JSON.parse(card.getChildText("DESC")!) as Desc;
}

describe("admin API over HTTP", () => {
  it("listens on the configured host, an ephemeral port here; without the token it is 401", async () => {
    expect(router.httpAddress).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await http.get("/health/live")).status).toBe(200);
    expect((await http.get("/status")).data).toBe("ONLINE");
    expect((await http.get("/admin/directory")).status).toBe(401);
  });

  it("a channel put and a channel deleted through the API are in the next directory vCard", async () => {
    expect((await desc(web)).items.map((i) => i.address)).toEqual(["supporto", "webchat"]);
    const supporto = (await http.get("/admin/channels/supporto", admin)).data as Record<string, unknown>;
    const changed = await http.put(
      "/admin/channels/supporto",
      { ...supporto, info: { ...(supporto.info as object), status: "Cambiato via HTTP" } },
      admin,
    );
    expect(changed.status).toBe(200);
    const added = await http.put(
      "/admin/channels/novita",
      {
        type: "channel",
        mobileIsPublished: false,
        webIsPublished: true,
        info: { name: "Novità" },
        route: { mode: "bot", bot: { url: BOT_URL } },
      },
      admin,
    );
    expect(added.status).toBe(201);
    expect((await http.delete("/admin/channels/webchat", admin)).status).toBe(204);

    const d = await desc(web);
    expect(d.items.map((i) => i.address)).toEqual(["supporto", "novita"]);
    expect(d.items[0]!.info.status).toBe("Cambiato via HTTP");
    expect(JSON.stringify(d)).not.toContain("route");
  });

  it("a bad edit is 400 with the field and the vCard does not change", async () => {
    const before = await desc(web);
    const res = await http.put<{ error: { fields: { field: string; message: string }[] } }>(
      "/admin/channels/novita",
      { type: "channel", mobileIsPublished: true, webIsPublished: true, info: { name: "x" }, route: { mode: "bot", bot: { url: "nope" } } },
      admin,
    );
    expect(res.status).toBe(400);
    expect(res.data.error.fields).toContainEqual({ field: "route.bot.url", message: expect.any(String) as unknown });
    expect(await desc(web)).toEqual(before);
  });
});

describe("/metrics on a listener of its own", () => {
  it("the metrics listener serves /metrics and nothing else; the admin listener answers /metrics 404", async () => {
    expect(router.metricsAddress).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(router.metricsAddress).not.toBe(router.httpAddress);
    const metrics = axios.create({ baseURL: router.metricsAddress!, timeout: 3000, validateStatus: () => true });
    const scraped = await metrics.get<string>("/metrics");
    expect(scraped.status).toBe(200);
    expect(scraped.headers["content-type"]).toMatch(/^text\/plain/);
    expect(scraped.data).toMatch(/^# HELP eime_/m);
    expect((await http.get("/metrics")).status).toBe(404);
    // The admin API and health stay on the main listener only.
    expect((await metrics.get("/admin/directory", admin)).status).toBe(404);
    expect((await metrics.get("/health/live")).status).toBe(404);
    expect((await http.get("/health/live")).status).toBe(200);
  });
});

describe("readiness follows the component connection", () => {
  const ready = async () => {
    const res = await http.get("/health/ready");
    return { status: res.status, body: res.data as { status: string; reasons?: string[] } };
  };

  it("200 while online; 503 naming xmpp when Prosody is killed; 200 again once the router reconnected", async () => {
    expect(await ready()).toEqual({ status: 200, body: { status: "ready" } });
    await prosody.kill();
    await expect
      .poll(ready, { timeout: 5000, interval: 50 })
      .toMatchObject({ status: 503, body: { status: "not ready", reasons: [expect.stringMatching(/^xmpp: /)] } });
    expect((await http.get("/status")).data).toMatch(/^OFFLINE \(.+\)$/);
    // The rest of the HTTP side keeps answering while the component is down.
    expect((await http.get("/health/live")).status).toBe(200);
    expect((await http.get("/admin/directory", admin)).status).toBe(200);
    await prosody.restart();
    await expect.poll(ready, { timeout: 5000, interval: 50 }).toEqual({ status: 200, body: { status: "ready" } });
    expect((await http.get("/status")).data).toBe("ONLINE");
  });
});
