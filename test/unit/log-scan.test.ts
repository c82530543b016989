// The e2e log scan (tools/log-scan/scan.ts) finds what must not be logged,
// and only that: a scan that cannot fail proves nothing.
import { describe, expect, it } from "vitest";
import { scanLines } from "../../tools/log-scan/scan.js";

const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, time: 1796219911393, service: "eime-router", ...fields });

describe("log scan", () => {
  it("finds a raw MSISDN: alone, in a JID, with +39 or 0039, in the national form", () => {
    const lines = [
      line({ msisdn: "393471111111", msg: "token rejected" }),
      line({ from: "393472222222@localhost/web-1", msg: "stanza" }),
      line({ msg: "search +393475550001 and 00393476666666" }),
      line({ contact: "3473333333" }),
    ];
    const found = scanLines("router.log", lines, []);
    expect(found.map((f) => [f.line, f.kind])).toEqual([
      [1, "msisdn"],
      [2, "msisdn"],
      [3, "msisdn"],
      [3, "msisdn"],
      [4, "msisdn"],
    ]);
    expect(found[0]).toMatchObject({ file: "router.log", excerpt: "3934…11" }); // the report does not repeat the number
  });

  it("finds a user token of the HMAC verifier and any watched value (admin token, secrets)", () => {
    const token = `1796223511.${"ab12".repeat(16)}`;
    const found = scanLines("r.log", [line({ data: { token } }), line({ headers: "Bearer e2e-admin-token-42" })], ["e2e-admin-token-42"]);
    expect(found.map((f) => f.kind)).toEqual(["token", "watched value"]);
  });

  it("passes what the router logs instead: keyed tags, timestamps, hashes, ids, durations", () => {
    const clean = [
      line({ msisdn: "msisdn#0ae28a9682f9", channel: "supporto", msg: "thread names another user: refused" }),
      line({ thread: "a3934711111118ff7c2b0e", id: "0c39347111111-4b7e", ms: 1796219911393 }),
      line({ conversation: "6f1c2a39-3471-4111-9111-393471111111x", rows: 12, pid: 18409 }),
      line({ msg: "http request", route: "/admin/users/:msisdn", status: 204, ms: 3 }),
    ];
    expect(scanLines("r.log", clean, ["e2e-admin-token-42"])).toEqual([]);
  });
});
