// Outbound URL policy (issue 13): the router calls bot and back-end URLs that
// an admin sets, so an admin token (or a mistake) must not turn it into a
// proxy into the network it runs in. A target must be http(s) and, unless
// `security.allowPrivateTargets` is set, every address its host resolves to
// must be public: no loopback, link-local (cloud metadata at 169.254.169.254
// and fd00:ec2::254), private (RFC 1918, RFC 4193), shared (RFC 6598, also
// 100.100.100.200), multicast or reserved address (IANA special-purpose
// registries, RFC 6890). Checked when the URL is written (admin API) and at
// start (config URLs); what a name resolves to later (DNS rebinding) is the
// deployment's egress policy to stop, see docs/security.md.
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

const blocked = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  blocked.addSubnet(net, bits, "ipv4");
}
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96], // NAT64: an IPv4 address inside
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001:db8::", 32],
  ["2002::", 16], // 6to4: an IPv4 address inside
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
] as const) {
  blocked.addSubnet(net, bits, "ipv6");
}

/** True for an address that is not a public unicast one (the lists above; IPv4-mapped IPv6 as its IPv4). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return blocked.check(mapped, "ipv4");
  return blocked.check(address, "ipv6");
}

export interface TargetPolicy {
  allowPrivateTargets: boolean;
  /** Resolves a host name to its addresses; default the system resolver (dns.lookup, as node:http connects). */
  resolve?: (host: string) => Promise<string[]>;
}

const systemResolve = async (host: string) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Why the router may not call `url`, or null when it may. */
export async function targetProblem(url: string, policy: TargetPolicy): Promise<string | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an http(s) URL";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return "must be an http(s) URL";
  if (parsed.username || parsed.password) return "must not carry credentials (use the route's secret)";
  if (policy.allowPrivateTargets) return null;
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await (policy.resolve ?? systemResolve)(host);
    } catch {
      return `host ${host} cannot be resolved (a private target needs security.allowPrivateTargets)`;
    }
  }
  const bad = addresses.find(isPrivateAddress);
  if (bad !== undefined || addresses.length === 0) {
    return `resolves to ${bad ?? "no address"}, a loopback, link-local, private or reserved address (allowed only with security.allowPrivateTargets, env EIME_ALLOW_PRIVATE_TARGETS=1)`;
  }
  return null;
}

/** An image URL a bot may send to clients: https, or http when private targets are allowed (tests, demos). */
export function isAllowedImageUrl(url: string, allowHttp: boolean): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === "https:" || (allowHttp && protocol === "http:");
  } catch {
    return false;
  }
}

/** The back-end URLs of the config that the router calls, by config path. */
export function configTargets(config: {
  genesys: { url?: string | undefined };
  voting: { surveyUrl?: string | undefined };
  tokens: { verifier: string };
  genesysCloud?: { apiUrl?: string | undefined; loginUrl?: string | undefined };
}): { path: string; url: string }[] {
  const out: { path: string; url: string }[] = [];
  if (config.genesys.url) out.push({ path: "genesys.url", url: config.genesys.url });
  if (config.genesysCloud?.apiUrl) out.push({ path: "genesysCloud.apiUrl", url: config.genesysCloud.apiUrl });
  if (config.genesysCloud?.loginUrl) out.push({ path: "genesysCloud.loginUrl", url: config.genesysCloud.loginUrl });
  if (config.voting.surveyUrl) out.push({ path: "voting.surveyUrl", url: config.voting.surveyUrl });
  if (config.tokens.verifier.startsWith("http:")) out.push({ path: "tokens.verifier", url: config.tokens.verifier.slice("http:".length) });
  return out;
}
