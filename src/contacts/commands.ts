// protocol.md section 7: commands to the service JID, cmd_add_to_roster and
// cmd_search_users. The rules are in rules.ts; this file does the I/O (store,
// directory, roster) around them and answers.
//
// Answers (choices where the contract is silent, for docs/protocol.md):
// - A message that decodes as a command (x element readable, type cmd_*) is
//   always answered with a command answer of the same type/action and id,
//   whatever went wrong: a bad payload (also a list over
//   protocol.maxListEntries) is `status: 1, errorCode: "BAD_REQUEST"` with
//   the field in errorMessage, a sender outside the user domain or whose
//   localpart is not an MSISDN the same, a failed store `SQL_ERROR`.
// - Two codes beyond the five of section 7, both in the error registry
//   (docs/errors.md): `ROSTER_NOT_PERMITTED` when the XMPP server granted no
//   roster privilege (XEP-0356; nothing is written) and `INTERNAL_ERROR` when
//   a roster request failed or timed out (the entries listed in `added` were
//   written; the command is idempotent, so retrying is safe).
// - `added` and `unchanged` are always present in cmd_add_to_roster answers
//   and `users` in cmd_search_users answers (empty when nothing applied).
//   They list the addresses as the client sent them. Unknown addresses are in
//   errorMessage, one `{message: address-as-sent}` each; errorCode is
//   NO_USER_FOUND when one of them looks like a phone number, else
//   NO_CHANNEL_FOUND.
// - A message to the service JID that is not a command (chat_text, a plain
//   body, no x element...) gets the section 2 stanza error naming the field,
//   as a channel does for a command; a standalone chat state is ignored.
// - Every command upserts its sender as a user (first contact, backends.md
//   section 4), without a name, before the payload is looked at.
// - cmd_search_users rate limits (fixed one-hour windows per user, counted in
//   the database): one request, then the number of distinct usable entries;
//   a search refused for its numbers still counts as a request. Unusable
//   entries are not counted, looked up or reported.
import type { Element } from "@xmpp/xml";
import type { Config } from "../config/schema.js";
import type { DirectoryItem } from "../core/model.js";
import { systemClock, type Clock, type RosterItem, type RosterPort } from "../core/ports.js";
import { isRouterError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import {
  commandResult,
  decodeMessage,
  decodePayload,
  errorReply,
  isStandaloneChatState,
  normalizeMsisdn,
  protocolErrorText,
  type ChannelUser,
  type CommandErrorCode,
  type CommandFields,
  type InboundMessage,
} from "../protocol/index.js";
import type { Repositories } from "../store/index.js";
import {
  cleanName,
  DEFAULT_GROUPS,
  jidKey,
  planEntry,
  resolveAddress,
  searchHits,
  searchKeys,
  type RosterGroups,
  type WantedEntry,
} from "./rules.js";

/** The section 7 codes plus the two registry codes this module adds (see the top of the file). */
export type ContactsErrorCode = CommandErrorCode | "ROSTER_NOT_PERMITTED" | "INTERNAL_ERROR";

export type ContactsResult =
  ({ status: 0 } & CommandFields) | ({ status: 1; errorCode: ContactsErrorCode; errorMessages: string[] } & CommandFields);

/** The sender of a command, as the dispatcher parsed it. */
export interface CommandSender {
  bare: string;
  local: string;
  domain: string;
}

export interface ContactsDeps {
  config: Pick<Config, "xmpp" | "protocol" | "contacts">;
  store: Pick<Repositories, "users" | "rateLimits">;
  /** The directory's channels by address (DirectoryCache). */
  channels(): Promise<ReadonlyMap<string, Pick<DirectoryItem, "address" | "info">>>;
  /** The roster port; `settled` (PrivilegedRoster) lets a command wait for the privilege advertisement. */
  roster: RosterPort & { settled?(): Promise<void> };
  send(stanza: Element): Promise<void>;
  log: Logger;
  metrics?: Pick<Metrics, "stanzasIn" | "errors">;
  clock?: Clock;
  groups?: RosterGroups;
  /** Longest wait for the roster privilege to be known after a (re)connect. Default 5000 ms. */
  settleTimeoutMs?: number;
  /** Roster writes in flight at once (one item per set, RFC 6121 section 2.1.5). Default 1: Prosody handles them one at a time anyway, and more in flight measured slower. */
  writeConcurrency?: number;
}

const HOUR_MS = 3_600_000;
/** An address written like a phone number: an unknown one is reported as NO_USER_FOUND. */
const PHONE_LIKE = /^[\d\s+\-()./]+$/;

const isCommand = (t: string): t is "cmd_add_to_roster" | "cmd_search_users" => t === "cmd_add_to_roster" || t === "cmd_search_users";

const failure = (errorCode: ContactsErrorCode, errorMessages: string[], fields: CommandFields = {}): ContactsResult => ({
  status: 1,
  errorCode,
  errorMessages,
  ...fields,
});

/** A failed store call: SQL_ERROR, anything else is a bug and goes up. */
class StoreFailure extends Error {}

export class ContactsCommands {
  private readonly clock: Clock;
  private readonly groups: RosterGroups;

  constructor(private readonly deps: ContactsDeps) {
    this.clock = deps.clock ?? systemClock;
    this.groups = deps.groups ?? DEFAULT_GROUPS;
  }

  /** A message from a user to the service JID. */
  async handle(stanza: Element, from: CommandSender): Promise<void> {
    const { config, metrics } = this.deps;
    const namespace = config.protocol.namespace;
    if (isStandaloneChatState(stanza, namespace)) return;
    const decoded = decodeMessage(stanza, {
      namespace,
      defaultLang: config.protocol.defaultLang,
      maxPayloadBytes: config.protocol.maxPayloadBytes,
    });
    if (!decoded.ok) {
      metrics?.errors.inc({ code: decoded.error.code });
      return this.deps.send(errorReply(stanza, decoded.error.code, protocolErrorText(decoded.error), { namespace }));
    }
    const message = decoded.value;
    metrics?.stanzasIn.inc({ type: message.x.type });
    if (!isCommand(message.x.type)) {
      metrics?.errors.inc({ code: "BAD_REQUEST" });
      const text = `type: the service JID ${config.xmpp.domain} accepts cmd_add_to_roster and cmd_search_users, not ${message.x.type} (conversations go to a channel JID)`;
      return this.deps.send(errorReply(stanza, "BAD_REQUEST", text, { namespace }));
    }
    const result = await this.command(message, from);
    if (result.status === 1) metrics?.errors.inc({ code: result.errorCode });
    await this.deps.send(commandResult(message, result, { namespace }));
  }

  /** Runs a decoded command and returns its answer (the payload is validated here). */
  async command(message: InboundMessage, from: CommandSender): Promise<ContactsResult> {
    const { config } = this.deps;
    const type = message.x.type;
    const empty: CommandFields = type === "cmd_add_to_roster" ? { added: [], unchanged: [] } : { users: [] };
    if (from.domain.toLowerCase() !== config.xmpp.userDomain.toLowerCase()) {
      return failure("BAD_REQUEST", [`from: only users of ${config.xmpp.userDomain} can send commands`], empty);
    }
    const msisdn = normalizeMsisdn(from.local, config.protocol.defaultCountryCode);
    if (msisdn === null) return failure("BAD_REQUEST", ["from: the sender's JID localpart is not an MSISDN"], empty);
    const sender = { bare: from.bare, msisdn };
    try {
      // First contact (backends.md section 4): known from now on, name kept if any.
      await this.storeCall(() => this.deps.store.users.upsertMany([{ msisdn }]));
      const payload = decodePayload(message.x, config.protocol);
      if (!payload.ok) return failure("BAD_REQUEST", [protocolErrorText({ ...payload.error, code: "BAD_REQUEST" })], empty);
      const p = payload.value;
      if (p.type === "cmd_add_to_roster") return await this.addToRoster(sender, p.channelUsers);
      if (p.type === "cmd_search_users") return await this.searchUsers(sender, p.userList, p.hashed);
      return failure("BAD_REQUEST", [`type: not a command`], empty);
    } catch (err) {
      if (!(err instanceof StoreFailure)) throw err;
      this.deps.log.error({ err: err.cause, command: type }, "store failed during a command");
      return failure("SQL_ERROR", ["the database failed; nothing was changed, retry later"], empty);
    }
  }

  private async storeCall<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isRouterError(err) && err.code === "SQL_ERROR") throw new StoreFailure(err.message, { cause: err });
      throw err;
    }
  }

  /** Waits (bounded) until the roster privilege of the current connection is known. */
  private async rosterSettled(): Promise<void> {
    const roster = this.deps.roster;
    if (roster.settled === undefined || roster.permitted()) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      roster.settled(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.deps.settleTimeoutMs ?? 5000);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  /** protocol.md section 7, cmd_add_to_roster. */
  async addToRoster(sender: { bare: string; msisdn: string }, entries: readonly ChannelUser[]): Promise<ContactsResult> {
    const { config, roster, store, log } = this.deps;
    await this.rosterSettled();
    if (!roster.permitted()) {
      return failure("ROSTER_NOT_PERMITTED", ["the XMPP server granted the router no roster privilege (XEP-0356): nothing was added"], {
        added: [],
        unchanged: [],
      });
    }
    const channels = await this.storeCall(() => this.deps.channels());
    const resolved = entries.map((e) => ({ entry: e, r: resolveAddress(e.address, channels, config.protocol.defaultCountryCode) }));
    const msisdns = [...new Set(resolved.flatMap(({ r }) => (r.kind === "user" ? [r.msisdn] : [])))];
    const [registered, book] = await this.storeCall(() =>
      Promise.all([store.users.findByMsisdns(msisdns), store.users.addressBook(sender.msisdn)]),
    );
    const users = new Map(registered.map((u) => [u.msisdn, u]));
    const inBook = new Set(book);

    // One roster entry per JID, however many writings of it the request has; the last name given wins.
    const targets = new Map<string, { wanted: WantedEntry; addresses: string[] }>();
    const unknown: string[] = [];
    let unknownUser = false;
    const self: string[] = [];
    const selfKey = jidKey(sender.bare);
    for (const { entry, r } of resolved) {
      let wanted: WantedEntry;
      if (r.kind === "channel") {
        wanted = {
          jid: `${r.channel.address}@${config.xmpp.domain}`,
          requestedName: cleanName(entry.name),
          knownName: r.channel.info.name,
          fallbackName: r.channel.address,
          kind: "channel",
          inAddressBook: false,
        };
      } else if (r.kind === "user" && users.has(r.msisdn)) {
        wanted = {
          jid: `${r.msisdn}@${config.xmpp.userDomain}`,
          requestedName: cleanName(entry.name),
          knownName: users.get(r.msisdn)!.name,
          fallbackName: r.msisdn,
          kind: "user",
          inAddressBook: inBook.has(r.msisdn),
        };
      } else {
        unknown.push(entry.address);
        if (r.kind === "user" || PHONE_LIKE.test(entry.address)) unknownUser = true;
        continue;
      }
      const key = jidKey(wanted.jid);
      if (key === selfKey) {
        self.push(entry.address);
        continue;
      }
      const t = targets.get(key);
      if (t === undefined) targets.set(key, { wanted, addresses: [entry.address] });
      else {
        t.addresses.push(entry.address);
        if (wanted.requestedName !== undefined) t.wanted = { ...t.wanted, requestedName: wanted.requestedName };
      }
    }

    const added = new Set<string>();
    const unchanged = new Set<string>(self);
    const answer = (): CommandFields => ({
      added: entries.map((e) => e.address).filter((a) => added.has(a)),
      unchanged: entries.map((e) => e.address).filter((a) => unchanged.has(a) && !added.has(a)),
    });
    const rosterFailure = (err: unknown): ContactsResult => {
      const code = isRouterError(err) && err.code === "ROSTER_NOT_PERMITTED" ? "ROSTER_NOT_PERMITTED" : "INTERNAL_ERROR";
      log.error({ err, msisdn: sender.msisdn }, "roster request failed during cmd_add_to_roster");
      const what = err instanceof Error ? err.message : String(err);
      return failure(code, [`${what}; the entries in added were written, retry for the rest (the command is idempotent)`], answer());
    };

    if (targets.size > 0) {
      let current: Map<string, RosterItem>;
      try {
        current = new Map((await roster.get(sender.bare)).map((i) => [jidKey(i.jid), i]));
      } catch (err) {
        return rosterFailure(err);
      }
      const writes: { item: { jid: string; name: string; groups: string[] }; addresses: string[] }[] = [];
      for (const [key, t] of targets) {
        const plan = planEntry(t.wanted, current.get(key), this.groups);
        if (plan.write) {
          writes.push({ item: plan.item, addresses: t.addresses });
          log.debug({ msisdn: sender.msisdn, kind: t.wanted.kind, reasons: plan.reasons }, "roster entry to write");
        } else for (const a of t.addresses) unchanged.add(a);
      }
      const failed = await this.writeAll(sender.bare, writes, (w) => w.addresses.forEach((a) => added.add(a)));
      if (failed !== undefined) return rosterFailure(failed.err);
    }

    log.info({ msisdn: sender.msisdn, added: added.size, unchanged: unchanged.size, unknown: unknown.length }, "cmd_add_to_roster");
    if (unknown.length > 0) return failure(unknownUser ? "NO_USER_FOUND" : "NO_CHANNEL_FOUND", unknown, answer());
    return { status: 0, ...answer() };
  }

  /** Roster sets, a few in flight; stops starting new ones at the first failure. */
  private async writeAll<W extends { item: { jid: string; name: string; groups: string[] } }>(
    owner: string,
    writes: readonly W[],
    done: (w: W) => void,
  ): Promise<{ err: unknown } | undefined> {
    let next = 0;
    let failed: { err: unknown } | undefined;
    const lane = async () => {
      while (failed === undefined && next < writes.length) {
        const w = writes[next++]!;
        try {
          await this.deps.roster.set(owner, w.item);
          done(w);
        } catch (err) {
          failed ??= { err };
        }
      }
    };
    const lanes = Math.max(1, Math.min(this.deps.writeConcurrency ?? 1, writes.length));
    await Promise.all(Array.from({ length: lanes }, lane));
    return failed;
  }

  /** protocol.md section 7, cmd_search_users. */
  async searchUsers(sender: { msisdn: string }, userList: readonly string[], hashed: boolean): Promise<ContactsResult> {
    const { config, store } = this.deps;
    const { keys } = searchKeys(userList, hashed, config.protocol.defaultCountryCode);
    const now = this.clock.now();
    const limits = config.contacts;
    const requests = await this.storeCall(() =>
      store.rateLimits.hit(`search-requests:${sender.msisdn}`, HOUR_MS, 1, limits.searchRequestsPerHour, now),
    );
    if (!requests.allowed) {
      return failure("RATE_LIMITED", [`at most ${limits.searchRequestsPerHour} searches per hour: retry later`], { users: [] });
    }
    if (keys.length > 0) {
      const numbers = await this.storeCall(() =>
        store.rateLimits.hit(`search-numbers:${sender.msisdn}`, HOUR_MS, keys.length, limits.searchNumbersPerHour, now),
      );
      if (!numbers.allowed) {
        return failure(
          "RATE_LIMITED",
          [
            `at most ${limits.searchNumbersPerHour} numbers searched per hour (${numbers.count} so far, this search has ${keys.length}): retry later`,
          ],
          { users: [] },
        );
      }
    }
    const found = await this.storeCall(() => (hashed ? store.users.findByHashes(keys) : store.users.findByMsisdns(keys)));
    // "The numbers are stored as the sender's address book": all of them, or for hashes the ones that matched.
    await this.storeCall(() => store.users.replaceAddressBook(sender.msisdn, hashed ? found.map((u) => u.msisdn) : keys));
    this.deps.log.info({ msisdn: sender.msisdn, hashed, searched: keys.length, found: found.length }, "cmd_search_users");
    return { status: 0, users: searchHits(found, config.xmpp.userDomain) };
  }
}
