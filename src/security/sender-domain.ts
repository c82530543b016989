// protocol.md section 8: only users of the configured user domain(s) may open
// conversations or send commands. The localpart alone proves nothing:
// `393471111111@elsewhere.example` (federation, or another virtual host of
// the same server) is not `393471111111@{user domain}`.
import type { Config } from "../config/schema.js";

/** `xmpp.userDomains`, or the one `xmpp.userDomain` when unset; lowercased (RFC 7622: domainparts compare case-insensitively). */
export function userDomainsOf(xmpp: Pick<Config["xmpp"], "userDomain" | "userDomains">): ReadonlySet<string> {
  return new Set((xmpp.userDomains ?? [xmpp.userDomain]).map((d) => d.toLowerCase()));
}

/** A predicate on a sender's domainpart: true for the users' own domains. */
export function senderDomainRule(domains: ReadonlySet<string>): (domain: string) => boolean {
  return (domain) => domains.has(domain.toLowerCase());
}
