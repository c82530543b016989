// protocol.md section 7: the rules of cmd_add_to_roster and cmd_search_users,
// pure (no I/O): which address is what, when a roster entry is written and
// with which name and groups, which search entries count. commands.ts does
// the I/O around them.
//
// Choices where the contract is silent (to be written in docs/protocol.md):
//
// - Address resolution: an address equal to a channel address of the
//   directory (published or not, as for messages) is that channel
//   (`{address}@{component domain}`); anything else is read as an MSISDN
//   (normalised, section 1) and must be a registered user. An address that is
//   neither a channel nor a valid MSISDN is unknown.
// - Name written: the request's `name` (trimmed), else the name the entry
//   already has in the roster (omitting `name` never renames a contact the
//   user named), else the user's registered name / the channel's `info.name`,
//   else the normalised MSISDN (the channel address). An entry is therefore
//   never written without a name, which keeps the command idempotent
//   ("present without a name" would otherwise match again every time).
// - Groups written: the entry's current groups, with `OTHERS` dropped when
//   the subscription is not `none` (the section 7 rule); when nothing is left
//   (new entry, entry without a group), `CONTACTS` for users and `CHANNELS`
//   for channels. Upper-case machine names like `OTHERS`: clients localise
//   them. An entry in `OTHERS` with subscription `none` already matches and
//   stays there.
// - The subscription is never touched (the server keeps it; the router sends
//   no presence subscription).
// - "In the address book but not in the roster" is a case of "missing from
//   the roster": it is reported as its own reason, the write is the same.
// - The sender's own MSISDN is "unchanged" (a user is not in their own
//   roster; the server refuses it).
import type { DirectoryItem, User } from "../core/model.js";
import type { RosterItem } from "../core/ports.js";
import { normalizeMsisdn } from "../protocol/index.js";

/** protocol.md section 7: the group of contacts the user has not accepted. */
export const OTHERS_GROUP = "OTHERS";
/** Group of users added by cmd_add_to_roster when the entry has none to keep. */
export const CONTACTS_GROUP = "CONTACTS";
/** Group of channels added by cmd_add_to_roster when the entry has none to keep. */
export const CHANNELS_GROUP = "CHANNELS";

export interface RosterGroups {
  contacts: string;
  channels: string;
}

export const DEFAULT_GROUPS: RosterGroups = { contacts: CONTACTS_GROUP, channels: CHANNELS_GROUP };

/** What one requested address is. */
export type ResolvedAddress =
  | { kind: "channel"; address: string; channel: Pick<DirectoryItem, "address" | "info"> }
  | { kind: "user"; address: string; msisdn: string }
  | { kind: "invalid"; address: string };

/** Channel first (a channel address may be all digits), else an MSISDN, else invalid. */
export function resolveAddress(
  address: string,
  channels: ReadonlyMap<string, Pick<DirectoryItem, "address" | "info">>,
  defaultCountryCode: string,
): ResolvedAddress {
  const channel = channels.get(address.trim());
  if (channel !== undefined) return { kind: "channel", address, channel };
  const msisdn = normalizeMsisdn(address, defaultCountryCode);
  return msisdn === null ? { kind: "invalid", address } : { kind: "user", address, msisdn };
}

/** Why an entry is written (section 7, in its order). */
export type WriteReason = "missing" | "no-group" | "no-name" | "renamed" | "address-book" | "others-subscribed";

/** One roster entry the command wants, after resolution. */
export interface WantedEntry {
  jid: string;
  /** The request's name, trimmed; undefined when absent or blank. */
  requestedName: string | undefined;
  /** The registered user's name or the channel's name. */
  knownName: string | null | undefined;
  /** Last resort name: the normalised MSISDN or the channel address. */
  fallbackName: string;
  kind: "user" | "channel";
  /** A user in the sender's address book (always false for channels). */
  inAddressBook: boolean;
}

export interface RosterPlan {
  write: boolean;
  reasons: WriteReason[];
  /** What is (or would be) written. */
  item: { jid: string; name: string; groups: string[] };
}

/** The request's name as written: trimmed, undefined when blank. */
export function cleanName(name: string | undefined): string | undefined {
  const n = name?.trim();
  return n === undefined || n === "" ? undefined : n;
}

/** The groups an entry is written with (see the top of this file). */
export function groupsFor(existing: RosterItem | undefined, kind: "user" | "channel", groups: RosterGroups = DEFAULT_GROUPS): string[] {
  let kept = [...new Set(existing?.groups ?? [])].filter((g) => g !== "");
  if (existing !== undefined && existing.subscription !== "none") kept = kept.filter((g) => g !== OTHERS_GROUP);
  return kept.length > 0 ? kept : [kind === "user" ? groups.contacts : groups.channels];
}

/**
 * Section 7: whether the entry is written into the sender's roster, why, and
 * with what. `existing` is the roster's item for the same JID (a `remove`
 * item counts as missing). Entries that already match are left alone.
 */
export function planEntry(wanted: WantedEntry, existing: RosterItem | undefined, groups: RosterGroups = DEFAULT_GROUPS): RosterPlan {
  const present = existing !== undefined && existing.subscription !== "remove" ? existing : undefined;
  const name = wanted.requestedName ?? present?.name ?? cleanName(wanted.knownName ?? undefined) ?? wanted.fallbackName;
  const item = { jid: wanted.jid, name, groups: groupsFor(present, wanted.kind, groups) };
  const reasons: WriteReason[] = [];
  if (present === undefined) {
    reasons.push("missing");
    if (wanted.inAddressBook) reasons.push("address-book");
  } else {
    if (present.groups.length === 0) reasons.push("no-group");
    if (present.name === undefined || present.name === "") reasons.push("no-name");
    else if (wanted.requestedName !== undefined && present.name !== wanted.requestedName) reasons.push("renamed");
    if (present.groups.includes(OTHERS_GROUP) && present.subscription !== "none") reasons.push("others-subscribed");
  }
  return { write: reasons.length > 0, reasons, item };
}

/** Case-insensitive key of a bare JID (servers store them prepped, lower case). */
export function jidKey(jid: string): string {
  return jid.toLowerCase();
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

export interface SearchKeys {
  /** Distinct normalised MSISDNs, or lower-case hashes when hashed. */
  keys: string[];
  /** Entries left out: not an MSISDN (or not a hex SHA-256 when hashed). */
  ignored: number;
}

/**
 * cmd_search_users input: each entry normalised (section 1) or, with
 * `hashed`, checked as 64 hex digits and lower-cased; unusable entries are
 * ignored (never reported), duplicates collapse, first occurrence order.
 */
export function searchKeys(userList: readonly string[], hashed: boolean, defaultCountryCode: string): SearchKeys {
  const keys = new Set<string>();
  let ignored = 0;
  for (const entry of userList) {
    const key = hashed ? (HEX_SHA256.test(entry.trim()) ? entry.trim().toLowerCase() : null) : normalizeMsisdn(entry, defaultCountryCode);
    if (key === null) ignored++;
    else keys.add(key);
  }
  return { keys: [...keys], ignored };
}

/** cmd_search_users answer entries: only registered users, `name` when they have one. */
export function searchHits(users: readonly User[], userDomain: string): { msisdn: string; jid: string; name?: string }[] {
  return users.map((u) =>
    u.name ? { msisdn: u.msisdn, jid: `${u.msisdn}@${userDomain}`, name: u.name } : { msisdn: u.msisdn, jid: `${u.msisdn}@${userDomain}` },
  );
}
