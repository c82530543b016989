import { describe, expect, it } from "vitest";
import type { DirectoryItem } from "../../../src/core/model.js";
import { channelDiscoInfo, directoryDiscoItems, discoInfo, discoItems, serviceDiscoInfo } from "../../../src/protocol/disco.js";
import { channelVCard, directoryVCard } from "../../../src/protocol/vcard.js";

const channel: DirectoryItem = {
  address: "supporto",
  type: "channel",
  mobileIsPublished: true,
  webIsPublished: true,
  info: {
    name: "Supporto & Co",
    status: "Siamo qui <sempre>",
    imageUrl: "https://img.example/s.png",
    thumbUrl: "https://img.example/t.png",
  },
  route: { mode: "bot", bot: { url: "https://bot.example", secret: "never-shown" } },
};

describe("vCards (protocol.md §6, XEP-0054)", () => {
  it("the directory vCard", () => {
    expect(directoryVCard("EiMe", '{"items":[]}').toString()).toBe(
      `<vCard xmlns="vcard-temp"><FN>EiMe</FN><DESC>{"items":[]}</DESC></vCard>`,
    );
  });

  it("a channel's vCard: FN, DESC, PHOTO/EXTVAL, nothing of the route", () => {
    const v = channelVCard(channel).toString();
    expect(v).toBe(
      `<vCard xmlns="vcard-temp"><FN>Supporto &amp; Co</FN><DESC>Siamo qui &lt;sempre&gt;</DESC><PHOTO><EXTVAL>https://img.example/s.png</EXTVAL></PHOTO></vCard>`,
    );
    expect(v).not.toContain("never-shown");
  });

  it("no PHOTO without an image", () => {
    expect(channelVCard({ ...channel, info: { ...channel.info, imageUrl: "" } }).toString()).toBe(
      `<vCard xmlns="vcard-temp"><FN>Supporto &amp; Co</FN><DESC>Siamo qui &lt;sempre&gt;</DESC></vCard>`,
    );
  });
});

describe("disco (protocol.md §6, XEP-0030)", () => {
  it("the service JID", () => {
    expect(serviceDiscoInfo("EiMe", "urn:eime:x:0").toString()).toBe(
      `<query xmlns="http://jabber.org/protocol/disco#info"><identity category="component" type="generic" name="EiMe"/>` +
        `<feature var="http://jabber.org/protocol/disco#info"/><feature var="http://jabber.org/protocol/disco#items"/>` +
        `<feature var="vcard-temp"/><feature var="urn:eime:x:0"/></query>`,
    );
  });

  it("a channel JID: chat states, receipts and ad-hoc commands for plain clients (protocol.md section 9), MAM (XEP-0313)", () => {
    expect(channelDiscoInfo("Supporto", "urn:eime:x:0").toString()).toBe(
      `<query xmlns="http://jabber.org/protocol/disco#info"><identity category="client" type="bot" name="Supporto"/>` +
        `<feature var="http://jabber.org/protocol/disco#info"/><feature var="http://jabber.org/protocol/disco#items"/>` +
        `<feature var="vcard-temp"/><feature var="http://jabber.org/protocol/chatstates"/>` +
        `<feature var="urn:xmpp:receipts"/><feature var="http://jabber.org/protocol/commands"/><feature var="urn:xmpp:mam:2"/>` +
        `<feature var="urn:eime:x:0"/></query>`,
    );
  });

  it("generic info and items", () => {
    expect(discoInfo({ identities: [{ category: "client", type: "bot" }], features: [] }).toString()).toBe(
      `<query xmlns="http://jabber.org/protocol/disco#info"><identity category="client" type="bot"/></query>`,
    );
    expect(discoItems([{ jid: "supporto@router.eime.local", name: "Supporto" }, { jid: "x@router.eime.local" }]).toString()).toBe(
      `<query xmlns="http://jabber.org/protocol/disco#items"><item jid="supporto@router.eime.local" name="Supporto"/><item jid="x@router.eime.local"/></query>`,
    );
    expect(discoItems([]).toString()).toBe(`<query xmlns="http://jabber.org/protocol/disco#items"/>`);
  });

  it("disco#items on the service lists the visible channel JIDs, groups flattened", () => {
    const hidden: DirectoryItem = { ...channel, address: "hidden", mobileIsPublished: false, webIsPublished: false };
    const group: DirectoryItem = {
      address: "g",
      type: "group",
      mobileIsPublished: true,
      webIsPublished: false,
      info: { name: "G", status: "", imageUrl: "", thumbUrl: "" },
      items: [{ ...channel, address: "inner", info: { ...channel.info, name: "Inner" } }],
    };
    expect(directoryDiscoItems({ items: [channel, hidden, group] }, "router.eime.local").toString()).toBe(
      `<query xmlns="http://jabber.org/protocol/disco#items"><item jid="supporto@router.eime.local" name="Supporto &amp; Co"/>` +
        `<item jid="inner@router.eime.local" name="Inner"/></query>`,
    );
  });
});
