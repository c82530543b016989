// The ceiling: a bare XEP-0114 echo component (@xmpp/component 0.13, no
// decoding, no store). Every message is sent straight back with from and to
// swapped. Runs in its own process (started by bench/run.ts):
//   node --import tsx bench/echo-component.ts SERVICE DOMAIN SECRET
import pkg from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { noDelay, noDelayWanted, serveParent } from "./proc.js";

const { component } = pkg;
const [service, domain, password] = process.argv.slice(2);
if (!service || !domain || !password) {
  process.stderr.write("usage: echo-component.ts SERVICE DOMAIN SECRET\n");
  process.exit(2);
}

const xmpp = component({ service, domain, password });
if (noDelayWanted()) noDelay(xmpp);
let echoed = 0;
xmpp.on("error", (err: Error) => process.stderr.write(`echo component: ${err.message}\n`));
xmpp.on("stanza", (stanza: Element) => {
  if (!stanza.is("message") || stanza.attrs.type === "error") return;
  const { from, to } = stanza.attrs as { from: string; to: string };
  stanza.attrs.from = to;
  stanza.attrs.to = from;
  echoed++;
  xmpp.send(stanza).catch((err: Error) => process.stderr.write(`echo send failed: ${err.message}\n`));
});

serveParent({
  async stop() {
    xmpp.reconnect.stop();
    await Promise.race([xmpp.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
    process.stderr.write(`echo component stopped after ${echoed} messages\n`);
    setImmediate(() => process.exit(0));
    return { echoed };
  },
  async count() {
    return { echoed };
  },
});

const timer = setTimeout(() => {
  process.stderr.write("echo component: not online within 10 s\n");
  process.exit(1);
}, 10_000);
xmpp.once("online", () => {
  clearTimeout(timer);
  process.send?.({ type: "ready" });
});
xmpp.start().catch((err: Error) => {
  process.stderr.write(`echo component: ${err.message}\n`);
  process.exit(1);
});
