// A private Prosody for e2e tests, the demo and the benchmark
// (recipe: /work/shared/notes/xmpp-servers.md). Own config, data dir and
// loopback ports in a temp dir; runs as the `prosody` user in the foreground.
// The process's life (stop, kill, restart, safety nets) is private-server.ts's.
//
// Use one per test file:
//
//   let prosody: Prosody;
//   beforeAll(async () => { prosody = await startProsody({ users: [{ username: "alice", password: "pw" }] }); });
//   afterAll(async () => { await prosody?.stop(); });
import { rmSync } from "node:fs";
import { join } from "node:path";
import { freePorts, isPortFree } from "./free-port.js";
import {
  asUser,
  execAs,
  HOST,
  ownedTempDir,
  retryOnPortTaken,
  ServerProcess,
  systemUser,
  withDefaults,
  writeOwned,
} from "./private-server.js";
import type { ConfigValues, PrivateServer, ServerOptions, ServerUser } from "./private-server.js";

export type ProsodyUser = ServerUser;

export interface ProsodyOptions extends ServerOptions {
  /** Prosody's log level. Default: $PROSODY_LOG_LEVEL or "info". */
  logLevel?: "debug" | "info" | "warn";
  /** The c2s port to use when it is free (the demo asks for 5222); default: a free port. */
  preferredC2sPort?: number;
  /** Further virtual hosts beside the user domain (another tenant of the same server); users there with registerProsodyUser. */
  extraHosts?: string[];
  /**
   * mod_offline on, as on real servers: a message to a user with no session is
   * stored and delivered at their next login (XEP-0160). Default false: tests
   * see a message to an offline user bounce.
   */
  offline?: boolean;
  /**
   * Prosody's built-in XEP-0363 file share (mod_http_file_share) as the
   * component `upload.{userDomain}`, served over http on a loopback port of
   * its own; its URLs are `http://127.0.0.1:{port}/file_share/…`.
   */
  fileShare?: boolean;
}

/** The file share of a Prosody started with `fileShare`. */
export interface FileShare {
  /** The XEP-0363 service's JID, `upload.{userDomain}`. */
  jid: string;
  /** `127.0.0.1:{port}`: the host:port its URLs have (for attachments.allowedHosts). */
  host: string;
}

export type Prosody = PrivateServer & { fileShare?: FileShare };

/** Runs a command as the prosody user (Prosody refuses to run as root and then hangs half-started). */
const AS_PROSODY = asUser("prosody");

function lua(s: string): string {
  if ([...s].some((c) => c.charCodeAt(0) < 0x20)) throw new Error(`control character in Prosody config value ${JSON.stringify(s)}`);
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The private config; exported so docs/prosody.md can be checked against what the tests run. */
export function configText(
  o: ConfigValues & { baseDir: string; extraHosts?: string[]; offline?: boolean; fileSharePort?: number },
): string {
  const p = (name: string) => lua(join(o.baseDir, name));
  const privilegeHost = o.privilege
    ? `  modules_enabled = { "privilege" }
  privileged_entities = { [${lua(o.componentDomain)}] = { roster = "both"; message = "outgoing" } }
`
    : "";
  const privilegeComponent = o.privilege ? `  modules_enabled = { "privilege" }\n` : "";
  // XEP-0363 on loopback http; http_host makes the share answer requests to 127.0.0.1, the host its URLs name.
  const share = o.fileSharePort
    ? {
        global: `http_ports = { ${o.fileSharePort} }\nhttp_interfaces = { "${HOST}" }\nhttps_ports = { }\n`,
        component: `\nComponent ${lua(`upload.${o.userDomain}`)} "http_file_share"
  http_host = "${HOST}"
  http_external_url = "http://${HOST}:${o.fileSharePort}/"
`,
      }
    : { global: "", component: "" };
  return `-- Private Prosody for eime-router tests, written by test/e2e/harness/prosody.ts.
pidfile = ${p("prosody.pid")}
data_path = ${p("data")}
certificates = ${p("certs")} -- empty: no STARTTLS offered
log = { { levels = { min = ${lua(o.logLevel)} }, to = "file", filename = ${p("prosody.log")} } }
interfaces = { "${HOST}" }
c2s_ports = { ${o.c2sPort} }
c2s_direct_tls_ports = { }
s2s_ports = { }
component_interfaces = { "${HOST}" }
component_ports = { ${o.componentPort} }
network_settings = { nagle = false }
authentication = "internal_hashed"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
-- no mod_limits: Debian's default config throttles c2s to 10 kB/s
modules_enabled = { "saslauth"; "disco"; "roster"; "ping"; "posix" }
modules_disabled = { "s2s"${o.offline ? "" : '; "offline"'} }
${share.global}
VirtualHost ${lua(o.userDomain)}
${privilegeHost}
${(o.extraHosts ?? []).map((h) => `VirtualHost ${lua(h)}\n\n`).join("")}Component ${lua(o.componentDomain)}
  component_secret = ${lua(o.secret)}
${privilegeComponent}${share.component}`;
}

export function startProsody(opts: ProsodyOptions = {}): Promise<Prosody> {
  return retryOnPortTaken(() => startOnce(opts));
}

async function startOnce(opts: ProsodyOptions): Promise<Prosody> {
  const owner = systemUser("prosody", "scripts/ensure-prosody.sh (apt-get install prosody prosody-modules)");
  const { userDomain, componentDomain, secret, privilege } = withDefaults(opts);
  const logLevel = opts.logLevel ?? (process.env.PROSODY_LOG_LEVEL as ProsodyOptions["logLevel"]) ?? "info";

  const preferred = opts.preferredC2sPort !== undefined && (await isPortFree(opts.preferredC2sPort)) ? opts.preferredC2sPort : undefined;
  const [picked, componentPort, sharePort] = (await freePorts(3, preferred === undefined ? [] : [preferred])) as [number, number, number];
  const fileSharePort = opts.fileShare ? sharePort : undefined;
  const c2sPort = preferred ?? picked;
  const baseDir = ownedTempDir("eime-prosody-", ["data", "certs"], owner);
  const configFile = join(baseDir, "prosody.cfg.lua");
  const writeConfig = (secret: string) =>
    writeOwned(
      configFile,
      configText({
        baseDir,
        c2sPort,
        componentPort,
        userDomain,
        componentDomain,
        secret,
        privilege,
        logLevel,
        extraHosts: opts.extraHosts,
        offline: opts.offline,
        fileSharePort,
      }),
      owner,
    );
  writeConfig(secret);

  const server = new ServerProcess({
    name: "Prosody",
    baseDir,
    configFile,
    c2sPort,
    componentPort,
    userDomain,
    componentDomain,
    secret,
    command: [...AS_PROSODY, "prosody", "-F", "--config", configFile],
    logFile: join(baseDir, "prosody.log"),
    portTaken: /Failed to open server port/,
    startTimeoutMs: opts.startTimeoutMs ?? 10_000,
    stopGraceMs: 3000,
    writeConfig,
    register: async (username, password) => {
      const command = [...AS_PROSODY, "prosodyctl", "--config", configFile, "register", username, userDomain, password];
      await execAs(command, { cwd: baseDir, timeoutMs: 10_000 }, `prosodyctl register ${username}@${userDomain}`);
    },
    // A SIGKILLed Prosody leaves its pidfile behind.
    afterExit: () => rmSync(join(baseDir, "prosody.pid"), { force: true }),
  });
  const prosody = server.handle(fileSharePort ? { fileShare: { jid: `upload.${userDomain}`, host: `${HOST}:${fileSharePort}` } } : {});
  await server.start(opts.users);
  return prosody;
}

/** Registers a user on any virtual host of a running private Prosody (e.g. one of `extraHosts`). */
export async function registerProsodyUser(prosody: Prosody, username: string, host: string, password: string): Promise<void> {
  const command = [...AS_PROSODY, "prosodyctl", "--config", prosody.configFile, "register", username, host, password];
  await execAs(command, { cwd: prosody.baseDir, timeoutMs: 10_000 }, `prosodyctl register ${username}@${host}`);
}
