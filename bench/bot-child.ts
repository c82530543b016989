// The sample bot (tools/sample-bot) in its own process, so its CPU is not
// charged to the router nor to the load generator. Started by bench/run.ts.
import { startSampleBot } from "../tools/sample-bot/bot.js";
import { serveParent } from "./proc.js";

const bot = await startSampleBot({ port: 0, host: "127.0.0.1" });

serveParent({
  async stop() {
    await Promise.race([bot.stop(), new Promise((r) => setTimeout(r, 3000))]);
    setImmediate(() => process.exit(0));
  },
  /** Forgets requests and the idempotency cache (they only grow). */
  async reset() {
    const handled = bot.handled;
    bot.reset();
    return { handled };
  },
});

process.send?.({ type: "ready", url: bot.url });
