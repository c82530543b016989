// Client stanzas (protocol.md sections 3–5): written to the component
// connection as they were encoded when the step was decided, with the stanza
// id derived from the job's key, so a resend is recognisably the same reply.
// Written is as far as XEP-0114 lets us know; the connection resends what it
// wrote just before a reconnect (xmpp/connection.ts).
import type { Element } from "@xmpp/xml";
import { parseStored } from "../../protocol/serialized.js";
import type { Config } from "../../config/schema.js";
import { doubling, errorText, type JobHandler } from "../job.js";

export interface ClientStanzaDeps {
  send: (stanza: Element) => Promise<void>;
  config: Config;
}

export function clientStanzaHandler({ send, config }: ClientStanzaDeps): JobHandler {
  const { maxAttempts, backoffBaseMs, backoffMaxMs } = config.outbox;
  const policy = { attempts: maxAttempts, backoffMs: doubling(backoffBaseMs, backoffMaxMs), budgetMs: null };
  return {
    policy: () => policy,
    async run(job) {
      // In memory when this instance built it; else the stored message (older rows and tests: the payload).
      const xml = job.storedStanza ?? job.payload.xml;
      const stanza = job.stanza ?? (typeof xml === "string" ? parseStored(xml) : null);
      if (!stanza) return { status: "failed", error: "client job without a stanza" };
      try {
        await send(stanza);
        return { status: "sent" };
      } catch (err) {
        // Offline with a full queue, or stopping: again later, in order.
        return { status: "retry", error: errorText(err) };
      }
    },
  };
}
