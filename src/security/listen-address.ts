// Issue 13: the admin API must not be reachable from the network without a
// token. A listener on a loopback address is reachable only from this host;
// any other address (0.0.0.0, ::, a host name, an interface address) counts
// as the network.
import { BlockList, isIP } from "node:net";

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  const family = isIP(host);
  if (family === 4) return loopback.check(host, "ipv4");
  if (family === 6) return loopback.check(host, "ipv6") || /^::ffff:127\./i.test(host);
  return false;
}
