import { describe, expect, it } from "vitest";
import { CHAT_STATES, isStandaloneChatState, parseChatState } from "../../../src/protocol/chat-states.js";
import { el, NS } from "./helpers.js";

describe("parseChatState (XEP-0085)", () => {
  it.each(CHAT_STATES)("reads <%s/>", (state) => {
    expect(
      parseChatState(
        el(`<message from="a@b" to="c@d"><thread>T</thread><${state} xmlns="http://jabber.org/protocol/chatstates"/></message>`),
      ),
    ).toBe(state);
  });

  it("null without one, or in another namespace, or an unknown state", () => {
    expect(parseChatState(el(`<message from="a@b" to="c@d"><body>hi</body></message>`))).toBeNull();
    expect(parseChatState(el(`<message from="a@b" to="c@d"><composing xmlns="urn:other"/></message>`))).toBeNull();
    expect(parseChatState(el(`<message from="a@b" to="c@d"><typing xmlns="http://jabber.org/protocol/chatstates"/></message>`))).toBeNull();
  });

  it("a state beside a body and an x element is still read", () => {
    const m = el(
      `<message from="a@b" to="c@d"><body>hi</body><x xmlns="${NS}"/><active xmlns="http://jabber.org/protocol/chatstates"/></message>`,
    );
    expect(parseChatState(m)).toBe("active");
    expect(isStandaloneChatState(m, NS)).toBe(false);
  });

  it("standalone: a state and neither body nor x", () => {
    expect(
      isStandaloneChatState(
        el(`<message from="a@b" to="c@d"><thread>T</thread><composing xmlns="http://jabber.org/protocol/chatstates"/></message>`),
        NS,
      ),
    ).toBe(true);
    expect(isStandaloneChatState(el(`<message from="a@b" to="c@d"><thread>T</thread></message>`), NS)).toBe(false);
  });
});
