// A stock console XMPP client from Debian (mcabber) against the router
// (issue 15): started in tmux, keys sent, the screen read back. It logs in
// to the private Prosody, browses the directory (disco#items of the
// service), adds a channel, says hello, sees the bot's answer with
// numbered options and picks one by number.
//
// mcabber is installed when missing (apt-get, as root); when it cannot be,
// the test fails with the apt-get line rather than skipping.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const SESSION = `eime-mcabber-${process.pid}`;
let prosody: Prosody;
let bot: SampleBot;
let router: App;
let home: string;

function ensureMcabber(): void {
  if (spawnSync("which", ["mcabber"]).status === 0) return;
  const apt = spawnSync("apt-get", ["install", "-y", "mcabber"], {
    stdio: "ignore",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (apt.status !== 0 || spawnSync("which", ["mcabber"]).status !== 0) {
    throw new Error("mcabber is not installed and could not be: run `apt-get install -y mcabber tmux` as root");
  }
}

const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
/** The visible screen, plus some scrollback. */
const screen = () => tmux("capture-pane", "-p", "-J", "-t", SESSION, "-S", "-200");

/** Types a line into mcabber (literally, then Enter). */
function type(line: string): void {
  tmux("send-keys", "-t", SESSION, "-l", line);
  tmux("send-keys", "-t", SESSION, "Enter");
}

async function screenShows(test: RegExp | string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    last = screen();
    if (typeof test === "string" ? last.includes(test) : test.test(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the mcabber screen never showed ${String(test)} within ${timeoutMs} ms; it shows:\n${last}`);
}

beforeAll(async () => {
  ensureMcabber();
  prosody = await startProsody({ users: [{ username: "mcuser", password: "mcpass" }] });
  bot = await startSampleBot();
  router = await startRouter(routerConfig(prosody), testDirectory(bot.url));
  home = mkdtempSync(join(tmpdir(), "eime-mcabber-"));
  const port = Number(new URL(prosody.c2sService.replace(/^xmpp:/, "http:")).port);
  writeFileSync(
    join(home, "mcabberrc"),
    [
      `set jid = mcuser@${prosody.userDomain}`,
      "set password = mcpass",
      "set server = 127.0.0.1",
      `set port = ${port}`,
      "set ssl = 0",
      "set tls = 0",
      "set resource = mcabber",
      "set disable_random_resource = 1",
      "set beep_on_message = 0",
      "set logging = 0",
      "set load_muc_logs = 0",
      "set time_prefix = 0",
      "set log_win_height = 10",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const command = `env HOME=${home} TERM=screen LANG=C.UTF-8 mcabber -f ${join(home, "mcabberrc")}`;
  tmux("new-session", "-d", "-s", SESSION, "-x", "220", "-y", "60", command);
});

afterAll(async () => {
  spawnSync("tmux", ["kill-session", "-t", SESSION]);
  await router?.stop();
  await bot?.stop();
  await prosody?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe("mcabber, a stock console client, driven in tmux", () => {
  it("directory → hello → the bot's numbered options → one picked by number", { timeout: 90_000 }, async () => {
    const D = prosody.componentDomain;
    await screenShows("Connection established.", 20_000);

    // The directory: mcabber has no disco browser, so it reads the service's vCard (protocol.md section 6),
    // shown in the buffer of the service JID, opened with an empty Enter (chat mode).
    type(`/request vcard ${D}`);
    await screenShows(`Received IQ:vCard result from <${D}>`);
    type(`/roster search ${D}`);
    tmux("send-keys", "-t", SESSION, "Enter");
    const directory = await screenShows('"address":"supporto"');
    expect(directory).toContain('"name":"Supporto"');

    // Add the channel (the router approves the subscription), open its window and say hello.
    type(`/add supporto@${D} Supporto`);
    await screenShows(`<supporto@${D}> has allowed you to receive their presence updates`);
    type("/roster search Supporto");
    type("hello");
    // The bot greets with numbered options (mcabber's stream says xml:lang="en": the English texts).
    const greeted = await screenShows("2. Talk to an operator");
    expect(greeted).toContain("Hi! I am the virtual assistant. How can I help you?");
    expect(greeted).toContain("1. Offers");
    await screenShows("You wrote: hello");

    // The greeting's options were replaced by the echo (which has none): the menu offers them again.
    type("help");
    await screenShows("3. Image");
    type("1");
    await screenShows("Today's offers: 10 GB for €5/month, 50 GB for €9/month.");
    expect(bot.requests.filter((r) => r.metadata?.event === "button").map((r) => r.message)).toEqual(["/offers"]);
  });
});
