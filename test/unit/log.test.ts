import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogging } from "../../src/log.js";
import { keyRingFrom } from "../../src/security/keyring.js";

const { msisdnTag } = keyRingFrom(undefined);

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe("logging", () => {
  it("redacts tokens and secrets at any depth and hashes MSISDNs", () => {
    const { lines, stream } = capture();
    const log = createLogging({ level: "info", modules: {} }, stream).child("core");
    log.info(
      {
        token: "T0K",
        data: { token: "T1", msisdn: "393471111111" },
        req: { headers: { authorization: "Bearer x" } },
        msisdn: "393472222222",
      },
      "hello",
    );
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/T0K|T1|Bearer x|393471111111|393472222222/);
    expect(lines[0]).toMatchObject({ module: "core", msg: "hello", token: "[redacted]", msisdn: msisdnTag("393472222222") });
    expect((lines[0]!.data as Record<string, unknown>).msisdn).toBe(msisdnTag("393471111111"));
  });

  it("gives each module its configured level", () => {
    const { lines, stream } = capture();
    const logging = createLogging({ level: "info", modules: { xmpp: "debug", bot: "error" } }, stream);
    logging.child("xmpp").debug("x-debug");
    logging.child("bot").warn("bot-warn");
    logging.child("core").debug("core-debug");
    logging.child("core").info("core-info");
    expect(lines.map((l) => l.msg)).toEqual(["x-debug", "core-info"]);
  });
});
