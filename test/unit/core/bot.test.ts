import { describe, expect, it } from "vitest";
import { matchOption, readBotReplies } from "../../../src/core/bot.js";

describe("reading a bot answer (backends.md section 1)", () => {
  it("texts become text messages; buttons and other custom data rich ones; an image a file message of its own", () => {
    const out = readBotReplies([
      { recipient_id: "c", text: "Ciao" },
      { text: "Scegli", buttons: [{ title: "A", payload: "/a" }] },
      { image: "https://x/i.png" },
      { custom: { card: 1, router: { close: true } } },
    ]);
    expect(out.messages).toEqual([
      { kind: "text", text: "Ciao", conversationType: "bot" },
      { kind: "rich", text: "Scegli", buttons: [{ title: "A", payload: "/a" }] },
      {
        kind: "attachment",
        conversationType: "bot",
        file: { name: null, mediaType: "image/png", image: true, at: { url: "https://x/i.png" } },
      },
      { kind: "rich", text: "", custom: { card: 1 } },
    ]);
    expect(out.options).toEqual([{ title: "A", payload: "/a" }]);
    expect(out.close).toBe(true);
    expect(out.handoff).toBeNull();
  });

  it("a handoff keeps its queue, reason and user data (as strings); malformed parts are ignored", () => {
    const out = readBotReplies([
      { text: "" },
      { buttons: [{ title: 1, payload: "/x" } as never, { title: "ok", payload: "/ok" }] },
      { custom: { router: { handoff: { queue: "premium", reason: "why", userData: { a: "b", n: 2, o: { x: 1 }, z: null } } } } },
    ]);
    expect(out.messages).toEqual([{ kind: "rich", text: "", buttons: [{ title: "ok", payload: "/ok" }] }]);
    expect(out.handoff).toEqual({ queue: "premium", reason: "why", userData: { a: "b", n: "2", o: '{"x":1}' } });
  });

  it("issue 13: text reduced to the safe HTML subset, titles to plain text, images https unless http is allowed", () => {
    const out = readBotReplies([
      { text: '<p onclick="x()">Ciao<script>alert(1)</script> <a href="javascript:alert(2)">qui</a>\u0001 😀</p>' },
      { text: "Scegli", buttons: [{ title: "<b>A</b>\u0007", payload: "/a\u0000" }] },
      { text: "img", image: "http://cdn.example/i.png" },
      { text: "js", image: "javascript:alert(1)" },
    ]);
    expect(out.messages).toEqual([
      { kind: "text", text: "<p>Ciao qui 😀</p>", conversationType: "bot" },
      { kind: "rich", text: "Scegli", buttons: [{ title: "A", payload: "/a" }] },
      { kind: "text", text: "img", conversationType: "bot" },
      { kind: "text", text: "js", conversationType: "bot" },
    ]);
    const allowed = readBotReplies([{ text: "img", image: "http://cdn.example/i.png" }], { allowHttpImages: true });
    expect(allowed.messages).toEqual([
      { kind: "text", text: "img", conversationType: "bot" },
      {
        kind: "attachment",
        conversationType: "bot",
        file: { name: null, mediaType: "image/png", image: true, at: { url: "http://cdn.example/i.png" } },
      },
    ]);
  });

  it("protocol.md section 10: Rasa's attachment, a URL or an object with one, is a file message; anything else is dropped", () => {
    const out = readBotReplies([
      { attachment: "https://files.example.com/bolletta.pdf" },
      {
        text: "Il contratto",
        attachment: { url: "https://files.example.com/c", name: "<b>contratto</b>.pdf", mediaType: "application/pdf" },
      },
      { attachment: { type: "file", payload: { url: "https://files.example.com/m.txt" } } },
      { attachment: { name: "no url" } },
      { attachment: 42 },
      { attachment: "ftp://files.example.com/x.pdf" },
    ]);
    const file = (url: string, mediaType: string, name: string | null = null) => ({
      kind: "attachment",
      conversationType: "bot",
      file: { name, mediaType, image: false, at: { url } },
    });
    expect(out.messages).toEqual([
      file("https://files.example.com/bolletta.pdf", "application/pdf"),
      { kind: "text", text: "Il contratto", conversationType: "bot" },
      file("https://files.example.com/c", "application/pdf", "contratto.pdf"),
      file("https://files.example.com/m.txt", "text/plain"),
    ]);
  });

  it("matches a numbered or titled reply to the options offered", () => {
    const options = [
      { title: "Offerte", payload: "/offers" },
      { title: "Operatore", payload: "/operator" },
    ];
    expect(matchOption("1", options)).toEqual(options[0]);
    expect(matchOption(" operatore ", options)).toEqual(options[1]);
    expect(matchOption("/offers", options)).toEqual(options[0]);
    expect(matchOption("3", options)).toBeNull();
    expect(matchOption("0", options)).toBeNull();
    expect(matchOption("altro", options)).toBeNull();
    expect(matchOption("1", null)).toBeNull();
  });
});
