// Contacts (protocol.md section 7, backends.md section 4): the XEP-0356
// roster adapter, the two commands and the route of messages to the service
// JID, built together for app.ts.
import type { Element } from "@xmpp/xml";
import { PrivilegedRoster, type RosterConnection } from "../adapters/roster/privileged-roster.js";
import type { Config } from "../config/schema.js";
import type { Clock } from "../core/ports.js";
import type { Logging } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { DirectoryCache } from "../router/directory-cache.js";
import type { Repositories } from "../store/index.js";
import type { Routes } from "../xmpp/dispatch.js";
import { ContactsCommands } from "./commands.js";
import { serviceMessageRoute } from "./service-messages.js";

export { ContactsCommands, type ContactsDeps, type ContactsResult, type ContactsErrorCode } from "./commands.js";
export { serviceMessageRoute } from "./service-messages.js";
export * from "./rules.js";

export interface ContactsOptions {
  config: Config;
  store: Pick<Repositories, "users" | "rateLimits">;
  directory: Pick<DirectoryCache, "get">;
  connection: RosterConnection;
  send: (stanza: Element) => Promise<void>;
  logging: Logging;
  metrics?: Pick<Metrics, "stanzasIn" | "errors">;
  clock?: Clock;
  /** How long after `online` the privilege advertisement may take. Default 3000 ms. */
  privilegeGraceMs?: number;
}

export interface Contacts {
  roster: PrivilegedRoster;
  commands: ContactsCommands;
  /** For Routes.serviceMessage. */
  serviceMessage: Routes["serviceMessage"];
}

export function createContacts(o: ContactsOptions): Contacts {
  const log = o.logging.child("contacts");
  const roster = new PrivilegedRoster({
    connection: o.connection,
    userDomain: o.config.xmpp.userDomain,
    componentDomain: o.config.xmpp.domain,
    timeoutMs: o.config.xmpp.iqTimeoutMs,
    graceMs: o.privilegeGraceMs ?? 3000,
    log: o.logging.child("roster"),
  });
  const commands = new ContactsCommands({
    config: o.config,
    store: o.store,
    channels: async () => (await o.directory.get()).channels,
    roster,
    send: o.send,
    log,
    metrics: o.metrics,
    clock: o.clock,
  });
  const serviceMessage = serviceMessageRoute({
    serverMessage: (stanza, domain) => roster.onServerMessage(stanza, domain),
    command: (stanza, from) => commands.handle(stanza, from),
    log,
  });
  return { roster, commands, serviceMessage };
}
