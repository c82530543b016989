// A private ejabberd for e2e tests (recipe: /work/shared/notes/xmpp-servers.md),
// the ejabberd counterpart of prosody.ts with the same shape, so the router
// support (routerConfig) and connectClient take it as they take a Prosody.
// Own config, Mnesia spool, logs, Erlang cookie and loopback ports in a temp
// dir owned by the `ejabberd` user; runs as that user in the foreground:
//
//   setsid setpriv --reuid=ejabberd … ejabberdctl -d DIR -s DIR/database -l DIR/logs foreground
//
// with HOME=DIR and DIR/ejabberdctl.cfg naming a node of its own and an
// ERL_DIST_PORT (so no epmd is started or needed). Ready in about 1.5–2 s.
//
//   let ejabberd: Ejabberd;
//   beforeAll(async () => { ejabberd = await startEjabberd({ users: [{ username: "alice", password: "pw" }] }); });
//   afterAll(async () => { await ejabberd?.stop(); });
//
// ejabberdctl is a bash script that runs erl as its child (it does not exec),
// so the spawned pid is bash and the VM (beam.smp) is its child: stop() sends
// SIGTERM to the VM (a clean Erlang shutdown, about 1 s), kill() SIGKILLs the
// process group (bash, the VM and its port programs). The rest of the
// process's life, safety nets included, is private-server.ts's.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { freePorts } from "./free-port.js";
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

export type EjabberdUser = ServerUser;

export type EjabberdLogLevel = "debug" | "info" | "notice" | "warning" | "error";

export interface EjabberdOptions extends ServerOptions {
  /**
   * Several component connections (router instances) for the component domain:
   * `domain_balancing` with `type: bare_source` and this many slots, so each
   * user's stanzas stick to one connection. Default: none (one connection; a
   * second one would get a random share of every user's stanzas).
   */
  componentNumber?: number;
  /** ejabberd's log level. Default: $EJABBERD_LOG_LEVEL or "info". */
  logLevel?: EjabberdLogLevel;
}

export interface Ejabberd extends PrivateServer {
  /** The Erlang distribution port (ERL_DIST_PORT) that ejabberdctl commands use. */
  readonly distPort: number;
  /** The Erlang node name, e.g. `eime-1a2b3c4d@localhost`. */
  readonly node: string;
  /** The running version as ejabberd logs it at start (e.g. "23.01-1"), undefined before. */
  readonly version: string | undefined;
  /** Runs `ejabberdctl ARGS…` against this node, as the ejabberd user; resolves with its stdout. */
  ctl(args: string[], timeoutMs?: number): Promise<string>;
}

/** Runs a command as the ejabberd user (ejabberdctl run as root would `su` to it and stay our child's child). */
const AS_EJABBERD = asUser("ejabberd");

/** A YAML double-quoted scalar. */
function yq(s: string): string {
  if ([...s].some((c) => c.charCodeAt(0) < 0x20)) throw new Error(`control character in ejabberd config value ${JSON.stringify(s)}`);
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A YAML mapping key: plain when it is a simple domain name, else quoted. */
function yk(s: string): string {
  return /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(s) ? s : yq(s);
}

/**
 * The private ejabberd.yml; exported so docs/ejabberd.md can be checked against
 * what the tests run (test/unit/docs-ejabberd.test.ts). The component listener
 * comes first under `listen:` and mod_privilege first under `modules:` so the
 * doc's snippets appear here verbatim.
 */
export function configText(o: ConfigValues & { componentNumber?: number | undefined }): string {
  const balancing =
    o.componentNumber === undefined
      ? ""
      : `
domain_balancing:
  ${yk(o.componentDomain)}:
    type: bare_source
    component_number: ${o.componentNumber}
`;
  const privilege = o.privilege
    ? `
acl:
  eime_router:
    server: ${yq(o.componentDomain)}

access_rules:
  eime_router:
    allow: eime_router
`
    : "";
  const privilegeModule = o.privilege
    ? `  mod_privilege:
    roster:
      both: eime_router
`
    : "";
  return `# Private ejabberd for eime-router tests, written by test/e2e/harness/ejabberd.ts.
hosts:
  - ${yq(o.userDomain)}

loglevel: ${o.logLevel}
# No certificates: no STARTTLS offered, SASL PLAIN on loopback (tests only).
certfiles: []
acme:
  auto: false

listen:
  -
    port: ${o.componentPort}
    ip: "${HOST}"
    module: ejabberd_service
    hosts:
      ${yk(o.componentDomain)}:
        password: ${yq(o.secret)}
  -
    port: ${o.c2sPort}
    ip: "${HOST}"
    module: ejabberd_c2s
    starttls_required: false
    max_stanza_size: 262144
${balancing}
auth_method: internal
s2s_access: none
${privilege}
modules:
${privilegeModule}  mod_roster: {}
  mod_disco: {}
  mod_ping: {}
`;
}

/** DIR/ejabberdctl.cfg: its own node name and distribution port (no epmd), no crash dumps, no busy-waiting schedulers. */
export function ctlConfigText(o: { node: string; distPort: number }): string {
  return `# Written by test/e2e/harness/ejabberd.ts.
ERLANG_NODE=${o.node}
ERL_DIST_PORT=${o.distPort}
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 +sbwt none +sbwtdcpu none +sbwtdio none"
EJABBERD_BYPASS_WARNINGS=true
`;
}

export function startEjabberd(opts: EjabberdOptions = {}): Promise<Ejabberd> {
  return retryOnPortTaken(() => startOnce(opts));
}

async function startOnce(opts: EjabberdOptions): Promise<Ejabberd> {
  const owner = systemUser("ejabberd", "scripts/ensure-ejabberd.sh (apt-get install ejabberd)");
  const { userDomain, componentDomain, secret, privilege } = withDefaults(opts);
  const logLevel = opts.logLevel ?? (process.env.EJABBERD_LOG_LEVEL as EjabberdLogLevel | undefined) ?? "info";
  const componentNumber = opts.componentNumber;
  if (componentNumber !== undefined && !(Number.isInteger(componentNumber) && componentNumber >= 1)) {
    throw new Error(`componentNumber must be a positive integer, got ${componentNumber}`);
  }

  const [c2sPort, componentPort, distPort] = (await freePorts(3)) as [number, number, number];
  const node = `eime-${randomBytes(4).toString("hex")}@localhost`;
  const baseDir = ownedTempDir("eime-ejabberd-", ["database", "logs"], owner);
  const dbDir = join(baseDir, "database");
  const logDir = join(baseDir, "logs");
  const configFile = join(baseDir, "ejabberd.yml");
  const writeConfig = (secret: string) =>
    writeOwned(
      configFile,
      configText({ c2sPort, componentPort, userDomain, componentDomain, secret, privilege, logLevel, componentNumber }),
      owner,
    );
  writeConfig(secret);
  writeOwned(join(baseDir, "ejabberdctl.cfg"), ctlConfigText({ node, distPort }), owner);
  // ejabberdctl points ERL_INETRC at DIR/inetrc: resolve "localhost" (the node's host) from the hosts file.
  writeOwned(join(baseDir, "inetrc"), `{lookup,["file","native"]}.\n{host,{127,0,0,1}, ["localhost"]}.\n`, owner);

  // A small, fixed environment: nothing of the test runner's ERL_* or locale leaks in; HOME holds the cookie.
  const env = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: baseDir, LANG: "C.UTF-8" };
  const ctlPrefix = [...AS_EJABBERD, "ejabberdctl", "-d", baseDir, "-s", dbDir, "-l", logDir];

  const server = new ServerProcess({
    name: "ejabberd",
    baseDir,
    configFile,
    c2sPort,
    componentPort,
    otherPorts: [distPort],
    userDomain,
    componentDomain,
    secret,
    command: [...ctlPrefix, "foreground"],
    env,
    logFile: join(logDir, "ejabberd.log"),
    errorLogFile: join(logDir, "error.log"),
    portTaken: /eaddrinuse/i,
    startTimeoutMs: opts.startTimeoutMs ?? 20_000,
    stopGraceMs: 5000,
    wrapper: true,
    writeConfig,
    register: async (username, password) => {
      await ctl(["register", username, userDomain, password]);
    },
  });

  function ctl(args: string[], timeoutMs = 15_000): Promise<string> {
    if (server.stopped) return Promise.reject(new Error("ejabberd was stopped"));
    return execAs([...ctlPrefix, ...args], { cwd: baseDir, env, timeoutMs }, `ejabberdctl ${args.join(" ")}`);
  }

  const ejabberd: Ejabberd = server.handle({
    distPort,
    node,
    get version() {
      return /ejabberd (\S+) is started in the node/.exec(server.log())?.[1];
    },
    ctl,
  });
  await server.start(opts.users);
  return ejabberd;
}
