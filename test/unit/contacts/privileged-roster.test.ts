// backends.md section 4: the XEP-0356 roster adapter with a fake component
// connection (no I/O): what it learns from the server's advertisement, the
// iqs it sends, how it maps failures, and what a reconnect does.
import { EventEmitter } from "node:events";
import xml, { type Element } from "@xmpp/xml";
import { parse } from "ltx";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  PrivilegedRoster,
  parsePrivilege,
  parseRoster,
  rosterAccess,
  rosterGet,
  rosterSet,
} from "../../../src/adapters/roster/privileged-roster.js";
import { isRouterError } from "../../../src/errors.js";

const NS_PRIV = "urn:xmpp:privilege:2";
const NS_ROSTER = "jabber:iq:roster";
const USER = "393471111111@localhost";

const el = (s: string) => parse(s);
const advert = (...perms: [string, string][]) =>
  xml(
    "message",
    { from: "localhost", to: "router.localhost" },
    xml("privilege", { xmlns: NS_PRIV }, ...perms.map(([access, type]) => xml("perm", { access, type }))),
  );

class FakeConnection extends EventEmitter {
  requests: Element[] = [];
  reply: (iq: Element) => Promise<Element> = async (iq) => xml("iq", { type: "result", id: iq.attrs.id as string });
  request(iq: Element): Promise<Element> {
    this.requests.push(iq);
    return this.reply(iq);
  }
}

const logged: { level: number; msg: string }[] = [];
const log = pino({ level: "debug" }, { write: (line: string) => void logged.push(JSON.parse(line) as { level: number; msg: string }) });
const warnings = () => logged.filter((l) => l.level === 40);

let conn: FakeConnection;
let roster: PrivilegedRoster;

beforeEach(() => {
  vi.useFakeTimers();
  logged.length = 0;
  conn = new FakeConnection();
  roster = new PrivilegedRoster({
    connection: conn,
    userDomain: "localhost",
    componentDomain: "router.localhost",
    timeoutMs: 500,
    graceMs: 3000,
    log,
  });
});

afterEach(() => {
  roster.close();
  vi.useRealTimers();
});

describe("codecs", () => {
  it("reads the privilege:2 advertisement verbatim from Prosody's mod_privilege", () => {
    const msg = el(
      `<message xmlns="jabber:component:accept" from="localhost" to="router.localhost"><privilege xmlns="${NS_PRIV}"><perm access="roster" type="both"/><perm access="message" type="outgoing"/></privilege></message>`,
    );
    const perms = parsePrivilege(msg)!;
    expect(Object.fromEntries(perms)).toEqual({ roster: "both", message: "outgoing" });
    expect(rosterAccess(perms)).toBe("both");
  });

  it("reads the privilege:1 advertisement verbatim from ejabberd 23.01's mod_privilege", () => {
    const msg = el(
      `<message to="router.localhost" from="localhost"><privilege xmlns="urn:xmpp:privilege:1"><perm type="outgoing" access="message"/><perm type="both" access="roster"/><perm type="none" access="presence"/></privilege></message>`,
    );
    const perms = parsePrivilege(msg)!;
    expect(Object.fromEntries(perms)).toEqual({ message: "outgoing", roster: "both", presence: "none" });
    expect(rosterAccess(perms)).toBe("both");
    // Perms in another namespace than their privilege element's are not read.
    const mixed = el(
      `<message><privilege xmlns="urn:xmpp:privilege:1"><perm xmlns="urn:xmpp:privilege:2" access="roster" type="both"/></privilege></message>`,
    );
    expect(rosterAccess(parsePrivilege(mixed)!)).toBe("none");
  });

  it("no privilege element (or one in an unknown namespace) is null; missing or unknown roster types count as none", () => {
    expect(parsePrivilege(el(`<message><body>hi</body></message>`))).toBeNull();
    expect(
      parsePrivilege(el(`<message><privilege xmlns="urn:xmpp:privilege:3"><perm access="roster" type="both"/></privilege></message>`)),
    ).toBeNull();
    expect(parsePrivilege(el(`<message><privilege><perm access="roster" type="both"/></privilege></message>`))).toBeNull();
    expect(rosterAccess(parsePrivilege(el(`<message><privilege xmlns="${NS_PRIV}"/></message>`))!)).toBe("none");
    expect(rosterAccess(parsePrivilege(advert(["roster", "all"]))!)).toBe("none");
    expect(rosterAccess(undefined)).toBe("none");
  });

  it("builds RFC 6121 roster get and set (one item, name, groups, no subscription)", () => {
    expect(rosterGet(USER).toString()).toBe(`<iq type="get" to="${USER}"><query xmlns="${NS_ROSTER}"/></iq>`);
    expect(rosterSet(USER, { jid: "a@localhost", name: "A & B", groups: ["CONTACTS", "CONTACTS", ""] }).toString()).toBe(
      `<iq type="set" to="${USER}"><query xmlns="${NS_ROSTER}"><item jid="a@localhost" name="A &amp; B"><group>CONTACTS</group></item></query></iq>`,
    );
    expect(rosterSet(USER, { jid: "a@localhost", groups: [] }).toString()).not.toContain("name=");
  });

  it("parses a roster result: names, groups, subscriptions; skips items without a jid", () => {
    const result = el(
      `<iq type="result"><query xmlns="${NS_ROSTER}" ver="3">` +
        `<item jid="a@localhost" name="A" subscription="both" ask="subscribe"><group>CONTACTS</group><group>Amici</group></item>` +
        `<item jid="b@localhost"/>` +
        `<item name="no jid"/>` +
        `<item jid="c@localhost" name="" subscription="weird"><group></group></item>` +
        `</query></iq>`,
    );
    expect(parseRoster(result)).toEqual([
      { jid: "a@localhost", name: "A", groups: ["CONTACTS", "Amici"], subscription: "both" },
      { jid: "b@localhost", groups: [], subscription: "none" },
      { jid: "c@localhost", groups: [], subscription: "none" },
    ]);
    expect(parseRoster(el(`<iq type="result"/>`))).toEqual([]);
  });
});

describe("permissions", () => {
  it("nothing is permitted before the advertisement; roster both is", () => {
    expect(roster.permitted()).toBe(false);
    conn.emit("online", { reconnected: false });
    expect(roster.onServerMessage(advert(["roster", "both"], ["message", "outgoing"]), "localhost")).toBe(true);
    expect(roster.permitted()).toBe(true);
  });

  it("get or set alone is not enough for permitted(), but allows that operation", async () => {
    roster.onServerMessage(advert(["roster", "get"]), "localhost");
    expect(roster.permitted()).toBe(false);
    await expect(roster.get(USER)).resolves.toEqual([]);
    await expect(roster.set(USER, { jid: "a@localhost", groups: [] })).rejects.toMatchObject({ code: "ROSTER_NOT_PERMITTED" });
    expect(conn.requests).toHaveLength(1);
  });

  it("a privilege:1 advertisement (ejabberd 23.01) grants the same as privilege:2", async () => {
    conn.emit("online", { reconnected: false });
    const v1 = xml(
      "message",
      { from: "localhost", to: "router.localhost" },
      xml(
        "privilege",
        { xmlns: "urn:xmpp:privilege:1" },
        xml("perm", { access: "roster", type: "both" }),
        xml("perm", { access: "presence", type: "none" }),
      ),
    );
    expect(roster.onServerMessage(v1, "localhost")).toBe(true);
    expect(roster.permitted()).toBe(true);
    await expect(roster.settled()).resolves.toBeUndefined();
    await expect(roster.set(USER, { jid: "a@localhost", name: "A", groups: ["CONTACTS"] })).resolves.toBeUndefined();
    expect(conn.requests[0]!.toString()).toBe(rosterSet(USER, { jid: "a@localhost", name: "A", groups: ["CONTACTS"] }).toString());
    vi.advanceTimersByTime(5000);
    expect(warnings()).toEqual([]);
  });

  it("a message that is not an advertisement is left to others", () => {
    expect(roster.onServerMessage(xml("message", { from: "localhost" }, xml("body", {}, "motd")), "localhost")).toBe(false);
  });

  it("rights are per host: another host's advertisement does not permit the user domain", async () => {
    roster.onServerMessage(advert(["roster", "both"]), "other.example");
    expect(roster.permitted()).toBe(false);
    await expect(roster.get(USER)).rejects.toMatchObject({ code: "ROSTER_NOT_PERMITTED" });
    await expect(roster.get("x@other.example")).resolves.toEqual([]);
  });

  it("an advertisement that arrives before `online` is kept (Prosody sends it right after the handshake)", () => {
    roster.onServerMessage(advert(["roster", "both"]), "localhost");
    conn.emit("online", { reconnected: false });
    vi.advanceTimersByTime(5000);
    expect(roster.permitted()).toBe(true);
    expect(warnings()).toEqual([]);
  });

  it("going offline forgets the rights; the next connection's advertisement brings them back", () => {
    conn.emit("online", { reconnected: false });
    roster.onServerMessage(advert(["roster", "both"]), "localhost");
    conn.emit("offline", "connection lost");
    expect(roster.permitted()).toBe(false);
    roster.onServerMessage(advert(["roster", "both"]), "localhost");
    conn.emit("online", { reconnected: true });
    expect(roster.permitted()).toBe(true);
  });

  it("a revoking advertisement (no roster perm) takes the rights away", () => {
    roster.onServerMessage(advert(["roster", "both"]), "localhost");
    roster.onServerMessage(advert(["message", "outgoing"]), "localhost");
    expect(roster.permitted()).toBe(false);
  });
});

describe("the warning and settled()", () => {
  it("no advertisement within the grace: ONE clear warning, even across reconnects", async () => {
    conn.emit("online", { reconnected: false });
    let settled = false;
    void roster.settled().then(() => (settled = true));
    vi.advanceTimersByTime(2999);
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(warnings()).toEqual([]);
    vi.advanceTimersByTime(1);
    await Promise.resolve();
    expect(settled).toBe(true);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.msg).toMatch(
      /^the XMPP server granted no roster privilege \(XEP-0356\) for localhost: cmd_add_to_roster will answer ROSTER_NOT_PERMITTED; see docs\/protocol\.md/,
    );
    expect(warnings()[0]!.msg).toContain(`privileged_entities = { ["router.localhost"] = { roster = "both" } }`);

    for (let i = 0; i < 3; i++) {
      conn.emit("offline", "connection lost");
      conn.emit("online", { reconnected: true });
      vi.advanceTimersByTime(5000);
    }
    expect(warnings()).toHaveLength(1);
  });

  it("an advertisement without roster warns at once and settles", async () => {
    conn.emit("online", { reconnected: false });
    roster.onServerMessage(advert(["message", "outgoing"]), "localhost");
    await expect(roster.settled()).resolves.toBeUndefined();
    expect(warnings()).toHaveLength(1);
    vi.advanceTimersByTime(5000);
    expect(warnings()).toHaveLength(1);
  });

  it("a grant after a warning is logged, and losing it later warns again", () => {
    conn.emit("online", { reconnected: false });
    vi.advanceTimersByTime(3000);
    roster.onServerMessage(advert(["roster", "both"]), "localhost");
    expect(logged.some((l) => l.msg.startsWith("roster privilege granted now"))).toBe(true);
    roster.onServerMessage(advert(["roster", "get"]), "localhost");
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]!.msg).toContain(`(only "get")`);
  });
});

describe("roster requests", () => {
  beforeEach(() => {
    roster.onServerMessage(advert(["roster", "both"]), "localhost");
  });

  it("get sends a roster query to the user's bare JID, bounded, and parses the answer", async () => {
    conn.reply = async () =>
      el(
        `<iq type="result"><query xmlns="${NS_ROSTER}"><item jid="a@localhost" name="A" subscription="to"><group>G</group></item></query></iq>`,
      );
    const spy = vi.spyOn(conn, "request");
    expect(await roster.get(USER)).toEqual([{ jid: "a@localhost", name: "A", groups: ["G"], subscription: "to" }]);
    expect(spy).toHaveBeenCalledWith(expect.anything(), 500);
    expect(conn.requests[0]!.toString()).toBe(`<iq type="get" to="${USER}"><query xmlns="${NS_ROSTER}"/></iq>`);
  });

  it("set sends one item", async () => {
    await roster.set(USER, { jid: "a@localhost", name: "A", groups: ["CONTACTS"] });
    expect(conn.requests[0]!.getChild("query", NS_ROSTER)!.getChildren("item")).toHaveLength(1);
  });

  it("a forbidden answer is ROSTER_NOT_PERMITTED; other errors and timeouts are INTERNAL_ERROR naming what failed", async () => {
    conn.reply = async () => {
      throw Object.assign(new Error("forbidden"), { name: "StanzaError", condition: "forbidden", type: "auth" });
    };
    await expect(roster.set(USER, { jid: "a@localhost", groups: [] })).rejects.toMatchObject({ code: "ROSTER_NOT_PERMITTED" });

    conn.reply = async () => {
      throw Object.assign(new Error("internal-server-error"), { name: "StanzaError", condition: "internal-server-error", type: "wait" });
    };
    const failed = await roster.get(USER).catch((e: unknown) => e);
    expect(isRouterError(failed) && failed.code).toBe("INTERNAL_ERROR");
    expect((failed as Error).message).toBe("roster get: the XMPP server answered internal-server-error");

    conn.reply = async () => {
      throw new Error("iq get jabber:iq:roster (id 1) got no answer within 500 ms");
    };
    await expect(roster.get(USER)).rejects.toMatchObject({
      code: "INTERNAL_ERROR",
      message: expect.stringContaining("no answer within 500 ms") as unknown,
    });
  });
});
