// protocol.md section 10, from a bot to the user: a bot's `image` or
// `attachment` at a URL the user can reach is sent as it is; one the user
// cannot reach (an address inside the bot's network) is fetched by the
// router, stored and sent as a signed URL of its own. Pure: the host is
// judged by its name, the fetch checks the addresses it really resolves to.
import { isIP } from "node:net";
import { isPrivateAddress } from "../security/targets.js";
import type { UserFile } from "./client-message.js";

export interface BotFilePolicy {
  /** attachments.allowedHosts: the file shares users reach (their own uploads live there). */
  allowedHosts: readonly string[];
  /** attachments.proxyBotFiles: "private" proxies only what the user cannot reach, "all" every bot file. */
  proxy: "private" | "all";
}

/** Names that only mean something inside a network: single labels, localhost, mDNS and the usual private suffixes. */
const PRIVATE_SUFFIXES = [".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".corp", ".svc", ".cluster.local"];

/** Whether a user anywhere can reach this URL: https, and a host that is public by its name or address. */
export function userCanReach(url: string, allowedHosts: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const hosts = allowedHosts.map((h) => h.toLowerCase());
  if (hosts.includes(host) || hosts.includes(u.host.toLowerCase())) return true;
  if (u.protocol !== "https:") return false;
  if (isIP(host)) return !isPrivateAddress(host);
  if (!host.includes(".") || host === "localhost") return false;
  return !PRIVATE_SUFFIXES.some((s) => host.endsWith(s));
}

/** Where the user gets a bot's file: its URL, or the router's copy under `newId()`, fetched first. */
export function placeBotFile(url: string, policy: BotFilePolicy, newId: () => string): UserFile["at"] {
  if (policy.proxy === "private" && userCanReach(url, policy.allowedHosts)) return { url };
  return { stored: newId(), fetchFrom: url };
}
