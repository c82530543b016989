// CLI of the GMS simulator:
//   tsx tools/gms-simulator/main.ts --port 8090 --agent-join-after 2000
// Options (all optional): --host, --agent-nickname NAME, --greeting TEXT,
// --replies echo|"a|b|c", --typing-before-reply MS, --leave-after MS,
// --idle-close-after MS, --client-timeout MS (0: never), --services a,b,
// --no-queue-notices, --quiet, --push-url URL (GMS' [push] customhttp.url:
// chats that ask for customhttp pushes are pushed there, push.ts). Without --agent-join-after no agent joins by
// itself: drive it with the control API (see server.ts), e.g.
//   curl -XPOST localhost:8090/sim/chats/$ID/agent/join -H 'content-type: application/json' -d '{"nickname":"Giulia"}'
import { parseArgs } from "node:util";
import { startGmsSimulator } from "./server.js";
import type { AgentScript, GmsSimulatorOptions } from "./server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8090" },
    host: { type: "string", default: "127.0.0.1" },
    "agent-join-after": { type: "string" },
    "agent-nickname": { type: "string" },
    greeting: { type: "string" },
    replies: { type: "string" },
    "typing-before-reply": { type: "string" },
    "leave-after": { type: "string" },
    "idle-close-after": { type: "string" },
    "client-timeout": { type: "string" },
    services: { type: "string" },
    "push-url": { type: "string" },
    "no-queue-notices": { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    "usage: tsx tools/gms-simulator/main.ts [--port 8090] [--host 127.0.0.1] [--agent-join-after MS] [--agent-nickname NAME]\n" +
      "  [--greeting TEXT] [--replies echo|'a|b'] [--typing-before-reply MS] [--leave-after MS] [--idle-close-after MS]\n" +
      "  [--client-timeout MS] [--services a,b] [--no-queue-notices] [--quiet] [--push-url URL]",
  );
  process.exit(0);
}

function ms(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: expected milliseconds, got ${v}`);
  return n;
}

const script: AgentScript = {};
const join = ms("agent-join-after", values["agent-join-after"]);
if (join !== undefined) script.joinAfterMs = join;
if (values["agent-nickname"] !== undefined) script.nickname = values["agent-nickname"];
if (values.greeting !== undefined) script.greeting = values.greeting;
if (values.replies !== undefined) script.replies = values.replies === "echo" ? "echo" : values.replies.split("|");
const typing = ms("typing-before-reply", values["typing-before-reply"]);
if (typing !== undefined) script.typingBeforeReplyMs = typing;
const leave = ms("leave-after", values["leave-after"]);
if (leave !== undefined) script.leaveAfterMs = leave;
const idle = ms("idle-close-after", values["idle-close-after"]);
if (idle !== undefined) script.idleCloseAfterMs = idle;

const opts: GmsSimulatorOptions = {
  port: Number(values.port),
  host: values.host,
  script,
  queueNotices: !values["no-queue-notices"],
};
const clientTimeout = ms("client-timeout", values["client-timeout"]);
if (clientTimeout !== undefined) opts.clientTimeoutMs = clientTimeout;
if (values["push-url"] !== undefined) opts.pushUrl = values["push-url"];
if (values.services !== undefined) opts.services = values.services.split(",").map((s) => s.trim());
if (!values.quiet) opts.log = (line) => console.log(`${new Date().toISOString()} ${line}`);

const sim = await startGmsSimulator(opts);
console.log(`GMS simulator listening: ${sim.url}/genesys/2/chat/{serviceName} (control: ${sim.url}/sim/chats)`);
console.log(`agent script: ${JSON.stringify(script)}`);

const shutdown = () => {
  void sim.stop().then(() => process.exit(0));
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
