// protocol.md section 7: the pure rules of cmd_add_to_roster (when an entry
// is written, with which name and groups) and of cmd_search_users (which
// entries count).
import { describe, expect, it } from "vitest";
import type { RosterItem } from "../../../src/core/ports.js";
import {
  CHANNELS_GROUP,
  CONTACTS_GROUP,
  OTHERS_GROUP,
  cleanName,
  groupsFor,
  planEntry,
  resolveAddress,
  searchHits,
  searchKeys,
  type WantedEntry,
} from "../../../src/contacts/rules.js";

const MARIO = "393471111111";
const JID = `${MARIO}@eime.local`;
// printf 393471111111 | sha256sum
const MARIO_HEX = "9753fdc6d16f7242bf2ece3bacab8d08024b58844ac8a459b73790b5eddc3105";

const wanted = (o: Partial<WantedEntry> = {}): WantedEntry => ({
  jid: JID,
  requestedName: "Mario Rossi",
  knownName: null,
  fallbackName: MARIO,
  kind: "user",
  inAddressBook: false,
  ...o,
});
const item = (o: Partial<RosterItem> = {}): RosterItem => ({
  jid: JID,
  name: "Mario Rossi",
  groups: [CONTACTS_GROUP],
  subscription: "none",
  ...o,
});

describe("planEntry: the six write conditions of section 7", () => {
  it("1. missing from the roster: written with the name and the contacts group", () => {
    expect(planEntry(wanted(), undefined)).toEqual({
      write: true,
      reasons: ["missing"],
      item: { jid: JID, name: "Mario Rossi", groups: [CONTACTS_GROUP] },
    });
  });

  it("2. present without a group: written with the default group, name kept", () => {
    expect(planEntry(wanted(), item({ groups: [] }))).toEqual({
      write: true,
      reasons: ["no-group"],
      item: { jid: JID, name: "Mario Rossi", groups: [CONTACTS_GROUP] },
    });
  });

  it("3. present without a name: written with the requested name, groups kept", () => {
    expect(planEntry(wanted(), item({ name: undefined, groups: ["Amici"] }))).toEqual({
      write: true,
      reasons: ["no-name"],
      item: { jid: JID, name: "Mario Rossi", groups: ["Amici"] },
    });
  });

  it("3b. present without a name and none requested: the registered name, else the MSISDN", () => {
    expect(planEntry(wanted({ requestedName: undefined, knownName: "Mario R." }), item({ name: undefined })).item.name).toBe("Mario R.");
    expect(planEntry(wanted({ requestedName: undefined }), item({ name: undefined })).item.name).toBe(MARIO);
  });

  it("4. present under a different name: renamed, groups kept", () => {
    expect(planEntry(wanted(), item({ name: "Mario", groups: ["Lavoro", "Amici"] }))).toEqual({
      write: true,
      reasons: ["renamed"],
      item: { jid: JID, name: "Mario Rossi", groups: ["Lavoro", "Amici"] },
    });
  });

  it("5. in the address book but not in the roster: written", () => {
    expect(planEntry(wanted({ inAddressBook: true }), undefined)).toMatchObject({ write: true, reasons: ["missing", "address-book"] });
  });

  it("6. in OTHERS with a subscription other than none: moved out of OTHERS", () => {
    for (const subscription of ["to", "from", "both"] as const) {
      expect(planEntry(wanted(), item({ groups: [OTHERS_GROUP], subscription }))).toEqual({
        write: true,
        reasons: ["others-subscribed"],
        item: { jid: JID, name: "Mario Rossi", groups: [CONTACTS_GROUP] },
      });
    }
    // Other groups are kept, only OTHERS goes.
    expect(planEntry(wanted(), item({ groups: [OTHERS_GROUP, "Amici"], subscription: "both" })).item.groups).toEqual(["Amici"]);
  });

  it("several conditions at once are all reported, one write", () => {
    expect(planEntry(wanted(), item({ name: "Mario", groups: [OTHERS_GROUP], subscription: "both" }))).toMatchObject({
      write: true,
      reasons: ["renamed", "others-subscribed"],
    });
  });
});

describe("planEntry: entries that already match are left alone", () => {
  it("same name, a group, subscription whatever", () => {
    for (const subscription of ["none", "to", "from", "both"] as const) {
      expect(planEntry(wanted(), item({ subscription }))).toMatchObject({ write: false, reasons: [] });
    }
  });

  it("in OTHERS with subscription none (the section 7 rule only moves subscribed ones)", () => {
    expect(planEntry(wanted(), item({ groups: [OTHERS_GROUP], subscription: "none" }))).toMatchObject({
      write: false,
      item: { groups: [OTHERS_GROUP] },
    });
  });

  it("no name requested: the user's own name for the contact stands", () => {
    expect(planEntry(wanted({ requestedName: undefined, knownName: "Registered" }), item({ name: "Il mio Mario" }))).toMatchObject({
      write: false,
      item: { name: "Il mio Mario" },
    });
  });

  it("in the address book and already in the roster", () => {
    expect(planEntry(wanted({ inAddressBook: true }), item())).toMatchObject({ write: false });
  });

  it("is idempotent: planning again over what was written changes nothing", () => {
    const cases: (RosterItem | undefined)[] = [
      undefined,
      item({ groups: [] }),
      item({ name: undefined }),
      item({ name: "Other" }),
      item({ groups: [OTHERS_GROUP, "Amici"], subscription: "to" }),
    ];
    for (const existing of cases) {
      for (const w of [
        wanted(),
        wanted({ requestedName: undefined }),
        wanted({ kind: "channel", jid: "supporto@router.eime.local", fallbackName: "supporto" }),
      ]) {
        const first = planEntry(w, existing);
        const after: RosterItem = { ...first.item, subscription: existing?.subscription ?? "none" };
        expect(planEntry(w, after), JSON.stringify({ existing, w })).toMatchObject({ write: false });
      }
    }
  });

  it("a `remove` item counts as missing", () => {
    expect(planEntry(wanted(), item({ subscription: "remove" }))).toMatchObject({ write: true, reasons: ["missing"] });
  });
});

describe("names and groups", () => {
  it("a channel gets the channel group and its directory name", () => {
    const w = wanted({
      kind: "channel",
      jid: "supporto@router.eime.local",
      requestedName: undefined,
      knownName: "Supporto",
      fallbackName: "supporto",
    });
    expect(planEntry(w, undefined).item).toEqual({ jid: "supporto@router.eime.local", name: "Supporto", groups: [CHANNELS_GROUP] });
    expect(planEntry({ ...w, knownName: "  " }, undefined).item.name).toBe("supporto");
  });

  it("configured group names replace the defaults", () => {
    expect(groupsFor(undefined, "user", { contacts: "Rubrica", channels: "Canali" })).toEqual(["Rubrica"]);
    expect(groupsFor(undefined, "channel", { contacts: "Rubrica", channels: "Canali" })).toEqual(["Canali"]);
  });

  it("cleanName trims and drops blanks", () => {
    expect(cleanName("  Mario  ")).toBe("Mario");
    expect(cleanName("   ")).toBeUndefined();
    expect(cleanName(undefined)).toBeUndefined();
  });
});

describe("resolveAddress", () => {
  const channels = new Map([
    ["supporto", { address: "supporto", info: { name: "Supporto", status: "", imageUrl: "", thumbUrl: "" } }],
    ["12345", { address: "12345", info: { name: "Numero", status: "", imageUrl: "", thumbUrl: "" } }],
  ]);

  it("a channel address is the channel, even when it is all digits", () => {
    expect(resolveAddress("supporto", channels, "39")).toMatchObject({ kind: "channel", channel: { address: "supporto" } });
    expect(resolveAddress("12345", channels, "39")).toMatchObject({ kind: "channel" });
  });

  it("anything else is an MSISDN in any writing, normalised", () => {
    for (const a of ["+39 347 111 1111", "00393471111111", "3471111111", "393471111111"]) {
      expect(resolveAddress(a, channels, "39")).toEqual({ kind: "user", address: a, msisdn: MARIO });
    }
  });

  it("neither a channel nor an MSISDN is invalid", () => {
    expect(resolveAddress("no_such_channel", channels, "39")).toEqual({ kind: "invalid", address: "no_such_channel" });
  });
});

describe("searchKeys", () => {
  it("normalises every writing, collapses duplicates and ignores what is not an MSISDN", () => {
    expect(searchKeys(["+39 347 111 1111", "0039 347 1111111", "3471111111", "00393296260815", "not a number", "12"], false, "39")).toEqual(
      {
        keys: [MARIO, "393296260815"],
        ignored: 2,
      },
    );
  });

  it("hashed: 64 hex digits in any case, lower-cased; anything else is ignored", () => {
    expect(searchKeys([MARIO_HEX.toUpperCase(), MARIO_HEX, "abc", MARIO, ` ${MARIO_HEX} `], true, "39")).toEqual({
      keys: [MARIO_HEX],
      ignored: 2,
    });
  });

  it("searchHits names the registered users only, with their JID", () => {
    expect(
      searchHits(
        [
          { msisdn: MARIO, hash: MARIO_HEX, name: "Mario" },
          { msisdn: "393472222222", hash: "x", name: null },
        ],
        "eime.local",
      ),
    ).toEqual([
      { msisdn: MARIO, jid: `${MARIO}@eime.local`, name: "Mario" },
      { msisdn: "393472222222", jid: "393472222222@eime.local" },
    ]);
  });
});
