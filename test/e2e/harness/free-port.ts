// Free loopback TCP ports for private servers started by tests.
//
// Ports are picked at random BELOW the kernel's ephemeral range on purpose:
// while a server is down (killed, restarting), clients keep reconnecting to
// its port; if that port were in the ephemeral range, the kernel could give a
// reconnecting socket that very port as its local port and the connect would
// succeed to itself (TCP simultaneous open), leaving the port taken when the
// server comes back.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

const HOST = "127.0.0.1";

function ephemeralLow(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > 2048 ? n : 32768;
  } catch {
    return 32768;
  }
}

/** Resolves true when `port` can be bound on 127.0.0.1 now (listen, then close again). */
export function isPortFree(port: number, host = HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** A port that is free now, outside the ephemeral range and not in `avoid`. */
export async function freePort(avoid: Iterable<number> = []): Promise<number> {
  const taken = new Set(avoid);
  const high = ephemeralLow() - 1;
  const low = Math.max(1024, high - 12000);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (taken.has(port)) continue;
    if (await isPortFree(port)) return port;
    taken.add(port);
  }
  throw new Error(`no free TCP port found on ${HOST} between ${low} and ${high} after 100 attempts`);
}

/** Several distinct free ports. */
export async function freePorts(count: number, avoid: number[] = []): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort([...avoid, ...ports]));
  return ports;
}

/** Waits until every port can be bound again (a stopped server may need a moment to release them). */
export async function waitPortsFree(ports: number[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy: number[] = [];
    for (const port of ports) if (!(await isPortFree(port))) busy.push(port);
    if (busy.length === 0) return;
    if (Date.now() > deadline) throw new Error(`ports ${busy.join(", ")} on ${HOST} still in use after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
