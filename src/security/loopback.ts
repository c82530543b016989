// Which listen addresses only this host can reach (issue 13): the router
// refuses to serve its admin API beyond loopback without a token
// (config/schema.ts). IPv4 127.0.0.0/8, IPv6 ::1 (also as ::ffff:127.x.y.z)
// and the name `localhost` (RFC 6761 section 6.3: it resolves to loopback).
// Anything else, 0.0.0.0 and :: above all, is reachable from outside.
import { isIPv4, isIPv6 } from "node:net";

export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIPv4(h)) return h.startsWith("127.");
  if (isIPv6(h)) {
    if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1]!.startsWith("127.");
  }
  return false;
}
