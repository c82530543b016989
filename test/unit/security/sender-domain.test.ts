import { describe, expect, it } from "vitest";
import { senderDomainRule, userDomainsOf } from "../../../src/security/sender-domain.js";

describe("sender domain rule (protocol.md section 8)", () => {
  it("defaults to the one user domain", () => {
    const allowed = senderDomainRule(userDomainsOf({ userDomain: "eime.local" }));
    expect(allowed("eime.local")).toBe(true);
    expect(allowed("EIME.local")).toBe(true);
    expect(allowed("elsewhere.example")).toBe(false);
    expect(allowed("sub.eime.local")).toBe(false);
  });

  it("takes xmpp.userDomains instead when set", () => {
    const allowed = senderDomainRule(userDomainsOf({ userDomain: "eime.local", userDomains: ["a.example", "b.example"] }));
    expect([allowed("a.example"), allowed("b.example"), allowed("eime.local")]).toEqual([true, true, false]);
  });
});
