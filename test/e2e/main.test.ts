// The router as an admin starts it (operations.md "Start"): the real process
// with the fixed environment variables, against a private Prosody. Bad config
// exits non-zero with one line per field; a wrong secret exits at once with a
// clear message; SIGTERM stops it cleanly within 10 s.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPortFree } from "./harness/free-port.js";
import { e2eLogDir } from "./harness/router-logs.js";
import { startProsody, type Prosody } from "./harness/prosody.js";

const ROOT = new URL("../../", import.meta.url).pathname;
let prosody: Prosody;
let tmp: string;

beforeAll(async () => {
  prosody = await startProsody();
  tmp = mkdtempSync(join(tmpdir(), "eime-main-"));
});
afterAll(async () => {
  await prosody?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  stderr: () => string;
}

/** `node src/main.ts` (through tsx, so no build is needed) with only the given environment. */
function router(env: Record<string, string>, args: string[] = []): Run {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      // Kept for the log scan of the run (harness/router-logs.ts): the real process's logs too.
      const dir = e2eLogDir();
      if (dir) writeFileSync(join(dir, `main-${process.pid}-${child.pid}.log`), `${out}\n${err}`);
      resolve({ code, signal });
    }),
  );
  return { child, exited, stdout: () => out, stderr: () => err };
}

async function freeHttpPort(): Promise<number> {
  for (let p = 18080; p < 18180; p++) if (await isPortFree(p)) return p;
  throw new Error("no free port");
}

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);
}

describe("node src/main.ts", () => {
  it("bad configuration: one line per bad field on stderr, exit code 2", async () => {
    const run = router({ EIME_HTTP_PORT: "eighty", EIME_TOKEN_VERIFIER: "magic", EIME_DATA_DIR: "memory://" });
    const { code } = await within(20_000, run.exited, "exit");
    expect(code).toBe(2);
    expect(run.stderr().trim().split("\n")).toEqual([
      "config xmpp.secret: required (env EIME_XMPP_SECRET)",
      expect.stringMatching(/^config http\.port: .* \(env EIME_HTTP_PORT\)$/),
      "config tokens.verifier: must be none, hmac:SECRET or http:URL (env EIME_TOKEN_VERIFIER)",
    ]);
  });

  it("a config file that does not exist is named", async () => {
    const run = router({ EIME_XMPP_SECRET: "x" }, ["--config", join(tmp, "missing.json")]);
    expect((await within(20_000, run.exited, "exit")).code).toBe(2);
    expect(run.stderr()).toContain(`config file ${join(tmp, "missing.json")}: cannot read (ENOENT)`);
  });

  it("a wrong component secret: exit 1 at once with a clear message, no retry loop", async () => {
    const run = router({
      EIME_XMPP_SERVICE: prosody.componentService,
      EIME_XMPP_DOMAIN: prosody.componentDomain,
      EIME_XMPP_SECRET: "not-the-secret",
      EIME_DATA_DIR: "memory://",
      EIME_HTTP_PORT: "0",
      LOG_LEVEL: "error",
    });
    const { code } = await within(30_000, run.exited, "exit");
    expect(code).toBe(1);
    expect(run.stderr()).toContain(`XMPP server refused the component secret for ${prosody.componentDomain} (not-authorized)`);
  });

  it("with the fixed environment variables it comes up ready, and SIGTERM stops it with exit 0 within 10 s", async () => {
    const port = await freeHttpPort();
    const configFile = join(tmp, "router.json");
    writeFileSync(configFile, JSON.stringify({ log: { level: "info" } }));
    const seedFile = join(tmp, "directory.json");
    const seed = {
      items: [
        {
          address: "supporto",
          type: "channel",
          mobileIsPublished: true,
          webIsPublished: true,
          info: { name: "Supporto", status: "Assistenza", imageUrl: "", thumbUrl: "", defaultMessage: "" },
          route: { mode: "bot", bot: { url: "http://127.0.0.1:9/webhook" } },
        },
      ],
    };
    writeFileSync(seedFile, JSON.stringify(seed));
    const run = router(
      {
        EIME_XMPP_SERVICE: prosody.componentService,
        EIME_XMPP_DOMAIN: prosody.componentDomain,
        EIME_XMPP_SECRET: prosody.secret,
        EIME_USER_DOMAIN: prosody.userDomain,
        EIME_DATA_DIR: join(tmp, "data"),
        EIME_HTTP_PORT: String(port),
        EIME_ADMIN_TOKEN: "admin-token-123",
        EIME_DIRECTORY_SEED: seedFile,
      },
      ["--config", configFile],
    );
    try {
      const deadline = Date.now() + 45_000;
      let ready = 0;
      while (Date.now() < deadline && ready !== 200) {
        ready = await axios.get(`http://127.0.0.1:${port}/health/ready`, { validateStatus: () => true, timeout: 1000 }).then(
          (r) => r.status,
          () => 0,
        );
        if (ready !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready).toBe(200);
      expect((await axios.get(`http://127.0.0.1:${port}/status`)).data).toBe("ONLINE");
      // The empty database was seeded from EIME_DIRECTORY_SEED.
      const directory = await axios.get(`http://127.0.0.1:${port}/admin/directory`, {
        headers: { authorization: "Bearer admin-token-123" },
      });
      // As seeded; the admin API says whether a bot secret is set, never the secret (issue 13).
      const item = { ...seed.items[0]!, route: { mode: "bot", bot: { url: "http://127.0.0.1:9/webhook", hasSecret: false } } };
      expect(directory.data).toEqual({ items: [item] });
      // Logs are JSON lines, per module; the secret never appears.
      const lines = run
        .stdout()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { module?: string; msg: string });
      expect(lines.find((l) => l.msg === "router started")).toMatchObject({ module: "app" });
      expect(run.stdout()).not.toContain(prosody.secret);

      const stopping = Date.now();
      run.child.kill("SIGTERM");
      const { code } = await within(12_000, run.exited, "exit after SIGTERM");
      expect(code).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(10_000);
      expect(run.stdout()).toContain('"msg":"router stopped"');
    } finally {
      run.child.kill("SIGKILL");
    }
  }, 90_000);
});
