// Careful traffic for one scenario: `messages` messages spread over the
// clients and their conversations at a steady rate, the fault started (not
// awaited) when a given share has been sent, so traffic goes on through it;
// then a bounded wait until every message has a receipt and an answer, and a
// grace period that catches late second answers.
import type { CarefulClient } from "./careful-client.js";
import type { Ledger } from "./ledger.js";

export interface TrafficPlan {
  /** Key prefix, unique per scenario. */
  prefix: string;
  messages: number;
  ratePerSecond: number;
  channel: string;
  /** Conversations (chat titles) per client. */
  titles: number;
  /** Share of `messages` sent before `fault` starts (0..1). */
  faultAt?: number;
  fault?: () => Promise<void>;
  /** Messages sent back to back just before the fault starts, so it hits them in flight. Default 0. */
  burst?: number;
  /** Each message asks the bot for a file (CarefulClient.send `file`). */
  file?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends the plan's messages; resolves once all are sent and the fault (if any) has finished. */
export async function sendTraffic(clients: CarefulClient[], plan: TrafficPlan): Promise<void> {
  const gap = 1000 / plan.ratePerSecond;
  const faultIndex = plan.fault ? Math.floor(plan.messages * (plan.faultAt ?? 0.5)) : -1;
  let fault: Promise<void> = Promise.resolve();
  const t0 = performance.now();
  const burstEnd = faultIndex + (plan.burst ?? 0);
  for (let i = 0; i < plan.messages; i++) {
    const client = clients[i % clients.length]!;
    const title = `t${Math.floor(i / clients.length) % plan.titles}`;
    client.send(plan.channel, title, `${plan.prefix}.${i}`, { file: plan.file === true });
    if (i === Math.min(burstEnd, plan.messages - 1) && plan.fault) fault = plan.fault();
    if (i >= faultIndex && i < burstEnd) continue;
    const wait = t0 + (i + 1) * gap - performance.now();
    if (wait > 0) await sleep(wait);
  }
  await fault;
}

/** Waits until nothing is outstanding (bounded by `maxMs`), then `graceMs` more. */
export async function drain(ledger: Ledger, maxMs: number, graceMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (ledger.outstanding() > 0 && performance.now() < deadline) await sleep(200);
  await sleep(graceMs);
}
