import { describe, expect, it } from "vitest";
import { isAllowedImageUrl, isPrivateAddress, targetProblem } from "../../../src/security/targets.js";

const refuse = {
  allowPrivateTargets: false,
  resolve: async (host: string) =>
    host === "bot.example.com" ? ["93.184.216.34"] : host === "evil.example.com" ? ["93.184.216.34", "10.1.2.3"] : ["127.0.0.1"],
};

describe("outbound URL policy", () => {
  it.each([
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.5",
    "172.16.4.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.100.100.200",
    "0.0.0.0",
    "::1",
    "::",
    "fe80::1",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "224.0.0.1",
  ])("%s is not a public address", (a) => {
    expect(isPrivateAddress(a)).toBe(true);
  });

  it.each(["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])("%s is public", (a) => {
    expect(isPrivateAddress(a)).toBe(false);
  });

  it("refuses non-http(s) schemes, credentials in the URL, private literals and names that resolve to one", async () => {
    expect(await targetProblem("ftp://bot.example.com/x", refuse)).toMatch(/http\(s\)/);
    expect(await targetProblem("file:///etc/passwd", refuse)).toMatch(/http\(s\)/);
    expect(await targetProblem("http://u:p@bot.example.com/", refuse)).toMatch(/credentials/);
    expect(await targetProblem("http://169.254.169.254/latest/meta-data/", refuse)).toMatch(/169\.254\.169\.254/);
    expect(await targetProblem("http://[::1]:5005/webhook", refuse)).toMatch(/::1/);
    expect(await targetProblem("http://localhost:5005/webhook", refuse)).toMatch(/127\.0\.0\.1/);
    expect(await targetProblem("http://evil.example.com/", refuse)).toMatch(/10\.1\.2\.3/); // one private address is enough
    expect(await targetProblem("https://bot.example.com/webhook", refuse)).toBeNull();
  });

  it("a name that does not resolve is refused (fail closed)", async () => {
    const failing = { allowPrivateTargets: false, resolve: () => Promise.reject(new Error("ENOTFOUND")) };
    expect(await targetProblem("https://nowhere.invalid/", failing)).toMatch(/cannot be resolved/);
  });

  it("allowPrivateTargets lets private targets through, never other schemes", async () => {
    const allow = { allowPrivateTargets: true };
    expect(await targetProblem("http://127.0.0.1:5005/webhook", allow)).toBeNull();
    expect(await targetProblem("gopher://127.0.0.1/", allow)).toMatch(/http\(s\)/);
  });

  it("bot images: https, http only when allowed, nothing else", () => {
    expect(isAllowedImageUrl("https://cdn.example.com/a.png", false)).toBe(true);
    expect(isAllowedImageUrl("http://cdn.example.com/a.png", false)).toBe(false);
    expect(isAllowedImageUrl("http://cdn.example.com/a.png", true)).toBe(true);
    expect(isAllowedImageUrl("javascript:alert(1)", true)).toBe(false);
    expect(isAllowedImageUrl("data:image/png;base64,AAAA", true)).toBe(false);
  });
});
