// Prometheus metrics (operations.md "HTTP"): stanzas by type, errors by code,
// conversations by state, bot and Genesys latency, outbox depth, dead letters,
// readiness and the component connection. One registry
// per router instance, so tests can build several apps in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface MetricsSources {
  conversationsByState?: () => Promise<Record<string, number>>;
  outboxDepth?: () => Promise<number>;
  deadLetters?: () => Promise<Record<string, number>>;
  /** Why the router is not ready (the check of GET /health/ready); empty when it is. */
  readiness?: () => Promise<readonly string[]>;
  componentOnline?: () => boolean;
}

export function createMetrics(sources: MetricsSources = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "eime_" });
  const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    registry,
    stanzasIn: new Counter({
      name: "eime_stanzas_in_total",
      help: "Stanzas received from the XMPP server, by kind (x type, iq, presence, chat state)",
      labelNames: ["type"] as const,
      registers: [registry],
    }),
    stanzasOut: new Counter({
      name: "eime_stanzas_out_total",
      help: "Stanzas sent to the XMPP server, by kind",
      labelNames: ["type"] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: "eime_errors_total",
      help: "Errors answered to clients or met on the way, by error code",
      labelNames: ["code"] as const,
      registers: [registry],
    }),
    v1Messages: new Counter({
      name: "eime_api_v1_messages_total",
      help: "Messages using the deprecated apiVersion 1 (or none)",
      registers: [registry],
    }),
    botLatency: new Histogram({
      name: "eime_bot_request_seconds",
      help: "Bot webhook call latency per HTTP attempt",
      labelNames: ["outcome"] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    genesysLatency: new Histogram({
      name: "eime_genesys_request_seconds",
      help: "Genesys GMS call latency, by operation",
      labelNames: ["op", "outcome"] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    // Push mode (docs/operations.md "Genesys push"): GMS' posts to /genesys/push.
    genesysPushes: new Counter({
      name: "eime_genesys_pushes_total",
      help: "Pushes GMS posted to /genesys/push, by outcome (accepted: the episode's poller woken; refused: a device id the router did not make; invalid: no device id; failed: could not wake)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    conversations: new Gauge({
      name: "eime_conversations",
      help: "Conversations in the database, by state",
      labelNames: ["state"] as const,
      registers: [registry],
      async collect() {
        if (!sources.conversationsByState) return;
        const counts = await sources.conversationsByState();
        this.reset();
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    }),
    deadLetters: new Counter({
      name: "eime_outbox_dead_letters_total",
      help: "Deliveries that failed for good and became dead letters here, by target (bot, client, genesys)",
      labelNames: ["target"] as const,
      registers: [registry],
    }),
    deadLetterDepth: new Gauge({
      name: "eime_outbox_dead",
      help: "Dead letters in the database (GET /admin/outbox/dead), by target",
      labelNames: ["target"] as const,
      registers: [registry],
      async collect() {
        if (!sources.deadLetters) return;
        const counts = await sources.deadLetters();
        this.reset();
        for (const [target, n] of Object.entries(counts)) this.set({ target }, n);
      },
    }),
    // 1/0 gauges, so an alert can say "not ready for 2 minutes" without a blackbox prober.
    ready: new Gauge({
      name: "eime_ready",
      help: "1 when the router is ready (GET /health/ready would answer 200: database answers, component online, not stopping), else 0",
      registers: [registry],
      async collect() {
        if (sources.readiness) this.set((await sources.readiness()).length === 0 ? 1 : 0);
      },
    }),
    componentOnline: new Gauge({
      name: "eime_xmpp_component_online",
      help: "1 while the XEP-0114 component stream to the XMPP server is up (handshake accepted), else 0",
      registers: [registry],
      collect() {
        if (sources.componentOnline) this.set(sources.componentOnline() ? 1 : 0);
      },
    }),
    // protocol.md section 10 (docs/attachments.md).
    attachments: new Counter({
      name: "eime_attachments_total",
      help: "Files between users and operators, by direction (to_operator, from_operator) and outcome (delivered, refused, failed)",
      labelNames: ["direction", "outcome"] as const,
      registers: [registry],
    }),
    attachmentBytes: new Gauge({
      name: "eime_attachments_stored_bytes",
      help: "Bytes of attachments stored by the router (after each stored file and each retention pass)",
      registers: [registry],
    }),
    outboxDepth: new Gauge({
      name: "eime_outbox_depth",
      help: "Deliveries waiting in the durable outbox",
      registers: [registry],
      async collect() {
        if (sources.outboxDepth) this.set(await sources.outboxDepth());
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
