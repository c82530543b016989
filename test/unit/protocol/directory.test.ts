import { describe, expect, it } from "vitest";
import type { DirectoryTree } from "../../../src/core/model.js";
import {
  channelsOf,
  descJson,
  findItem,
  parseDirectoryTree,
  platformOfOs,
  platformOfResource,
  visibleItems,
} from "../../../src/protocol/directory.js";

const info = (name: string) => ({ name, status: `${name} status`, imageUrl: "https://img.example/a.png", thumbUrl: "" });
const bot = { mode: "bot" as const, bot: { url: "https://bot.example/hook" } };

/** Admin input (JSON as posted to the admin API). */
function adminTree(): Record<string, unknown> {
  return {
    items: [
      {
        address: "supporto",
        type: "channel",
        mobileIsPublished: true,
        webIsPublished: true,
        info: { ...info("Supporto"), defaultMessage: "Ciao!" },
        route: {
          mode: "bot+operator",
          bot: { url: "https://bot.example/s", timeoutMs: 5000, secret: "x" },
          genesys: { serviceName: "svc", premiumServiceName: "svc-premium" },
        },
      },
      {
        address: "tickets",
        type: "group",
        mobileIsPublished: true,
        webIsPublished: true,
        info: info("Biglietti"),
        items: [
          {
            address: "atm_milano",
            type: "channel",
            serverAddress: "myticket",
            mobileIsPublished: true,
            webIsPublished: false,
            info: info("ATM Milano"),
            route: bot,
          },
          {
            address: "atm_firenze",
            type: "channel",
            serverAddress: "myticket",
            mobileIsPublished: false,
            webIsPublished: true,
            info: info("ATAF Firenze"),
            route: { mode: "operator", genesys: { serviceName: "tickets" } },
          },
        ],
      },
      { address: "hidden", type: "channel", mobileIsPublished: false, webIsPublished: false, info: info("Hidden"), route: bot },
      { address: "empty_group", type: "group", mobileIsPublished: true, webIsPublished: true, info: info("Empty") },
    ],
  };
}

function parsed(): DirectoryTree {
  const r = parseDirectoryTree(adminTree());
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

describe("DirectoryTreeSchema (admin format, protocol.md §6)", () => {
  it("accepts a valid tree and fills status/imageUrl/thumbUrl defaults and empty group items", () => {
    const r = parseDirectoryTree({
      items: [{ address: "g", type: "group", mobileIsPublished: true, webIsPublished: true, info: { name: "G" } }],
    });
    expect(r).toEqual({
      ok: true,
      value: {
        items: [
          {
            address: "g",
            type: "group",
            mobileIsPublished: true,
            webIsPublished: true,
            info: { name: "G", status: "", imageUrl: "", thumbUrl: "" },
            items: [],
          },
        ],
      },
    });
    expect(parsed().items).toHaveLength(4);
  });

  const mutate = (f: (t: { items: Record<string, unknown>[] }) => void) => {
    const t = adminTree() as { items: Record<string, unknown>[] };
    f(t);
    return parseDirectoryTree(t);
  };
  const first = (t: { items: Record<string, unknown>[] }) => t.items[0] as Record<string, unknown>;
  const group = (t: { items: Record<string, unknown>[] }) => t.items[1] as { items: Record<string, unknown>[] };

  it.each([
    ["an address with uppercase", (t: { items: Record<string, unknown>[] }) => (first(t)["address"] = "Supporto"), "items.0.address"],
    ["an address with @", (t: { items: Record<string, unknown>[] }) => (first(t)["address"] = "a@b"), "items.0.address"],
    ["an empty address", (t: { items: Record<string, unknown>[] }) => (first(t)["address"] = ""), "items.0.address"],
    [
      "a bad serverAddress",
      (t: { items: Record<string, unknown>[] }) => (first(t)["serverAddress"] = "My Ticket"),
      "items.0.serverAddress",
    ],
    [
      "a duplicate address inside a group",
      (t: { items: Record<string, unknown>[] }) => ((group(t).items[1] as Record<string, unknown>)["address"] = "supporto"),
      "items.1.items.1.address",
    ],
    [
      "a group inside a group",
      (t: { items: Record<string, unknown>[] }) =>
        group(t).items.push({ address: "g2", type: "group", mobileIsPublished: true, webIsPublished: true, info: info("G2"), items: [] }),
      "items.1.items.2.type",
    ],
    ["a channel with items", (t: { items: Record<string, unknown>[] }) => (first(t)["items"] = []), "items.0"],
    [
      "a group with a route",
      (t: { items: Record<string, unknown>[] }) => ((t.items[1] as Record<string, unknown>)["route"] = bot),
      "items.1",
    ],
    ["a channel without route", (t: { items: Record<string, unknown>[] }) => delete first(t)["route"], "items.0.route"],
    ["bot mode without bot", (t: { items: Record<string, unknown>[] }) => (first(t)["route"] = { mode: "bot" }), "items.0.route.bot.url"],
    [
      "bot+operator without genesys",
      (t: { items: Record<string, unknown>[] }) => (first(t)["route"] = { mode: "bot+operator", bot: { url: "https://b.example" } }),
      "items.0.route.genesys.serviceName",
    ],
    [
      "operator without genesys",
      (t: { items: Record<string, unknown>[] }) => (first(t)["route"] = { mode: "operator" }),
      "items.0.route.genesys.serviceName",
    ],
    ["an unknown mode", (t: { items: Record<string, unknown>[] }) => (first(t)["route"] = { mode: "human" }), "items.0.route.mode"],
    [
      "a bot url that is not http(s)",
      (t: { items: Record<string, unknown>[] }) => (first(t)["route"] = { mode: "bot", bot: { url: "ftp://b" } }),
      "items.0.route.bot.url",
    ],
    ["an unknown type", (t: { items: Record<string, unknown>[] }) => (first(t)["type"] = "folder"), "items.0.type"],
    [
      "an image that is not a URL",
      (t: { items: Record<string, unknown>[] }) => ((first(t)["info"] as Record<string, unknown>)["imageUrl"] = "javascript:alert(1)"),
      "items.0.info.imageUrl",
    ],
    [
      "a group with defaultMessage",
      (t: { items: Record<string, unknown>[] }) =>
        (((t.items[1] as Record<string, unknown>)["info"] as Record<string, unknown>)["defaultMessage"] = "x"),
      "items.1.info",
    ],
    [
      "an empty name",
      (t: { items: Record<string, unknown>[] }) => ((first(t)["info"] as Record<string, unknown>)["name"] = ""),
      "items.0.info.name",
    ],
    ["missing published flags", (t: { items: Record<string, unknown>[] }) => delete first(t)["webIsPublished"], "items.0.webIsPublished"],
    ...(
      [
        ["hours in an unknown time zone", { tz: "Europe/Atlantis", week: {} }, "items.0.route.hours.tz"],
        ["hours on an unknown day", { tz: "UTC", week: { monday: ["09:00-18:00"] } }, "items.0.route.hours.week.monday"],
        ["hours with an empty interval", { tz: "UTC", week: { mon: ["18:00-09:00"] } }, "items.0.route.hours.week.mon.0"],
        ["hours with a bad closed date", { tz: "UTC", week: {}, closed: ["2026-02-30"] }, "items.0.route.hours.closed.0"],
      ] as const
    ).map(
      ([what, hours, field]) =>
        [what, (t: { items: Record<string, unknown>[] }) => (first(t)["route"] = { ...bot, hours }), field] as [
          string,
          (t: { items: Record<string, unknown>[] }) => unknown,
          string,
        ],
    ),
  ])("rejects %s (field %s)", (_what, f, field) => {
    const r = mutate(f);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("BAD_REQUEST");
      expect(r.error.field).toBe(field);
    }
  });

  it("keeps a route's opening hours (backends.md section 2c)", () => {
    const hours = { tz: "Europe/Rome", week: { "mon-fri": ["09:00-13:00", "14:00-18:00"], sat: ["09:00-12:00"] }, closed: ["2026-12-25"] };
    const r = mutate((t) => (first(t)["route"] = { ...bot, hours }));
    expect(r.ok && (r.value.items[0] as { route: { hours: unknown } }).route.hours).toEqual(hours);
  });

  it('route.callback (backends.md section 2c): a GMS service needs genesys, "bot" needs a bot, nothing else', () => {
    const gms = { mode: "bot+operator", bot: bot.bot, genesys: { serviceName: "s" } };
    const ok = mutate((t) => (first(t)["route"] = { ...gms, maxQueued: 3, callback: { serviceName: "callback-s" } }));
    expect(ok.ok && (ok.value.items[0] as { route: { callback: unknown } }).route.callback).toEqual({ serviceName: "callback-s" });
    expect(mutate((t) => (first(t)["route"] = { ...gms, callback: "bot" })).ok).toBe(true);
    expect(mutate((t) => (first(t)["route"] = { ...bot, callback: { serviceName: "callback-s" } }))).toMatchObject({
      ok: false,
      error: { field: "items.0.route.callback.serviceName" },
    });
    expect(mutate((t) => (first(t)["route"] = { mode: "operator", genesys: { serviceName: "s" }, callback: "bot" }))).toMatchObject({
      ok: false,
      error: { field: "items.0.route.callback" },
    });
    for (const callback of ["human", { serviceName: "" }, { name: "x" }]) {
      expect(mutate((t) => (first(t)["route"] = { ...gms, callback })).ok).toBe(false);
    }
  });

  it("rejects a non-object, naming the whole directory", () => {
    expect(parseDirectoryTree("x")).toMatchObject({ ok: false, error: { code: "BAD_REQUEST", field: "directory" } });
    expect(parseDirectoryTree({})).toMatchObject({ ok: false, error: { field: "items" } });
  });
});

describe("descJson (protocol.md §6)", () => {
  const supporto = `{"address":"supporto","type":"channel","mobileIsPublished":true,"webIsPublished":true,"info":{"name":"Supporto","status":"Supporto status","imageUrl":"https://img.example/a.png","thumbUrl":"","defaultMessage":"Ciao!"}}`;
  const milano = `{"address":"atm_milano","type":"channel","serverAddress":"myticket","mobileIsPublished":true,"webIsPublished":false,"info":{"name":"ATM Milano","status":"ATM Milano status","imageUrl":"https://img.example/a.png","thumbUrl":"","defaultMessage":""}}`;
  const firenze = `{"address":"atm_firenze","type":"channel","serverAddress":"myticket","mobileIsPublished":false,"webIsPublished":true,"info":{"name":"ATAF Firenze","status":"ATAF Firenze status","imageUrl":"https://img.example/a.png","thumbUrl":"","defaultMessage":""}}`;
  const group = (items: string) =>
    `{"address":"tickets","type":"group","mobileIsPublished":true,"webIsPublished":true,"info":{"name":"Biglietti","status":"Biglietti status","imageUrl":"https://img.example/a.png","thumbUrl":""},"items":[${items}]}`;

  it("no platform: everything published somewhere, never a route, never an empty group", () => {
    expect(descJson(parsed())).toBe(`{"items":[${supporto},${group(`${milano},${firenze}`)}]}`);
    expect(descJson(parsed(), null)).toBe(descJson(parsed()));
  });

  it("mobile and web keep only what is published there", () => {
    expect(descJson(parsed(), "mobile")).toBe(`{"items":[${supporto},${group(milano)}]}`);
    expect(descJson(parsed(), "web")).toBe(`{"items":[${supporto},${group(firenze)}]}`);
  });

  it("a group emptied by the filter is left out, a group hidden on a platform hides its channels", () => {
    const t = parsed();
    const g = t.items[1];
    if (g === undefined) throw new Error();
    g.webIsPublished = false;
    expect(descJson(t, "web")).toBe(`{"items":[${supporto}]}`);
    (g.items ?? []).splice(0, 1);
    g.webIsPublished = true;
    expect(descJson(t, "mobile")).toBe(`{"items":[${supporto}]}`);
    expect(visibleItems(t, "mobile").map((i) => i.address)).toEqual(["supporto"]);
  });

  it("an empty directory", () => {
    expect(descJson({ items: [] })).toBe('{"items":[]}');
  });
});

describe("platforms, lookups", () => {
  it.each([
    ["web-123", "web"],
    ["webchat", "web"],
    ["android-7", "mobile"],
    ["ios-2", "mobile"],
    ["Android", "mobile"],
    ["gajim.X1", null],
    ["", null],
    [undefined, null],
  ] as const)("resource %s → %s", (res, p) => {
    expect(platformOfResource(res)).toBe(p);
  });

  it("os → platform", () => {
    expect(platformOfOs("web")).toBe("web");
    expect(platformOfOs("android")).toBe("mobile");
    expect(platformOfOs("ios")).toBe("mobile");
    expect(platformOfOs("windows")).toBeNull();
    expect(platformOfOs(null)).toBeNull();
  });

  it("findItem finds groups and channels at any level; channelsOf flattens in order", () => {
    const t = parsed();
    expect(findItem(t, "atm_firenze")?.info.name).toBe("ATAF Firenze");
    expect(findItem(t, "tickets")?.type).toBe("group");
    expect(findItem(t, "myticket")).toBeUndefined();
    expect(channelsOf(t).map((c) => c.address)).toEqual(["supporto", "atm_milano", "atm_firenze", "hidden"]);
  });
});
