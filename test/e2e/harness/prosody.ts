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
}

export type Prosody = PrivateServer;

/** Runs a command as the prosody user (Prosody refuses to run as root and then hangs half-started). */
const AS_PROSODY = asUser("prosody");

function lua(s: string): string {
  if ([...s].some((c) => c.charCodeAt(0) < 0x20)) throw new Error(`control character in Prosody config value ${JSON.stringify(s)}`);
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The private config; exported so docs/prosody.md can be checked against what the tests run. */
export function configText(o: ConfigValues & { baseDir: string; extraHosts?: string[]; offline?: boolean }): string {
  const p = (name: string) => lua(join(o.baseDir, name));
  const privilegeHost = o.privilege
    ? `  modules_enabled = { "privilege" }
  privileged_entities = { [${lua(o.componentDomain)}] = { roster = "both"; message = "outgoing" } }
`
    : "";
  const privilegeComponent = o.privilege ? `  modules_enabled = { "privilege" }\n` : "";
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

VirtualHost ${lua(o.userDomain)}
${privilegeHost}
${(o.extraHosts ?? []).map((h) => `VirtualHost ${lua(h)}\n\n`).join("")}Component ${lua(o.componentDomain)}
  component_secret = ${lua(o.secret)}
${privilegeComponent}`;
}

export function startProsody(opts: ProsodyOptions = {}): Promise<Prosody> {
  return retryOnPortTaken(() => startOnce(opts));
}

async function startOnce(opts: ProsodyOptions): Promise<Prosody> {
  const owner = systemUser("prosody", "scripts/ensure-prosody.sh (apt-get install prosody prosody-modules)");
  const { userDomain, componentDomain, secret, privilege } = withDefaults(opts);
  const logLevel = opts.logLevel ?? (process.env.PROSODY_LOG_LEVEL as ProsodyOptions["logLevel"]) ?? "info";

  const preferred = opts.preferredC2sPort !== undefined && (await isPortFree(opts.preferredC2sPort)) ? opts.preferredC2sPort : undefined;
  const [picked, componentPort] = (await freePorts(2, preferred === undefined ? [] : [preferred])) as [number, number];
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
  const prosody = server.handle({});
  await server.start(opts.users);
  return prosody;
}

/** Registers a user on any virtual host of a running private Prosody (e.g. one of `extraHosts`). */
export async function registerProsodyUser(prosody: Prosody, username: string, host: string, password: string): Promise<void> {
  const command = [...AS_PROSODY, "prosodyctl", "--config", prosody.configFile, "register", username, host, password];
  await execAs(command, { cwd: prosody.baseDir, timeoutMs: 10_000 }, `prosodyctl register ${username}@${host}`);
}
