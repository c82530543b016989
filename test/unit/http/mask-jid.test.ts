// The admin API shows users' JIDs masked (design.md rule 6), read by @xmpp/jid.
import { describe, expect, it } from "vitest";
import { maskJid } from "../../../src/http/admin-conversations.js";

describe("maskJid", () => {
  it.each([
    ["393471111111@localhost", "39********11@localhost"],
    ["393471111111@localhost/android-7", "39********11@localhost"],
    ["mario@Example.ORG", "*****@example.org"],
    ["localhost", "localhost"],
  ])("%s → %s", (jid, masked) => expect(maskJid(jid)).toBe(masked));

  it("masks a value that is no JID whole", () => {
    expect(maskJid("393471111111@")).toBe("*************");
    expect(maskJid("")).toBe("");
  });
});
