// Summary of a V8 .cpuprofile (node --cpu-prof): where the busy time went.
//   npx tsx bench/profile-summary.ts FILE.cpuprofile [TOP]
// - self time by module (node_modules package, src/ folder, node internals, GC),
// - inclusive time by module (a sample counts once for every module on its stack),
// - the top functions by self time.
// Idle time ("(idle)") and the socket-write bindings (writev, writeBuffer, …:
// wall time that includes being preempted) are left out of the percentages
// and shown apart.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The module a frame belongs to: a package, a src/ folder, or a V8/node category. */
export function moduleOf(f: CallFrame): string {
  const name = f.functionName;
  if (name === "(garbage collector)") return "(gc)";
  if (name === "(idle)") return "(idle)";
  if (name === "(program)") return "(program)";
  if (name === "(root)") return "(root)";
  const url = f.url;
  if (url === "") return "(native)";
  if (url.startsWith("node:")) return "node:" + url.slice(5).split("/")[0];
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf("/src/");
  if (src >= 0) {
    const parts = url.slice(src + 1).split("/");
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts.join("/");
  }
  if (url.includes("/bench/router-child")) return "bench (query counter)";
  if (url.includes("/bench/")) return "bench";
  const test = url.indexOf("/test/");
  if (test >= 0) return "test";
  return url.replace(/^file:\/\//, "");
}

function label(f: CallFrame): string {
  const file = f.url.replace(/^file:\/\/.*?\/(node_modules|src)\//, "$1/").replace(/^file:\/\//, "");
  return `${f.functionName || "(anonymous)"} ${file ? `${file}:${f.lineNumber + 1}` : ""}`.trim();
}

/** Stream write bindings: the syscall itself, and any time the thread sat preempted right after it. */
const SOCKET_WRITES = new Set(["writev", "writeBuffer", "writeUtf8String", "writeLatin1String", "writeAsciiString", "writeUcs2String"]);

export function summarizeProfile(file: string, top = 20): string {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to sample i (V8 DevTools does the same).
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  let total = 0;
  let idle = 0;
  let socketWrites = 0;
  const selfByModule = new Map<string, number>();
  const inclByModule = new Map<string, number>();
  const selfByFn = new Map<string, number>();
  const inclBySrcFn = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const mod = moduleOf(node.callFrame);
    if (mod === "(idle)") {
      idle += us;
      continue;
    }
    if (node.callFrame.url === "" && SOCKET_WRITES.has(node.callFrame.functionName)) {
      socketWrites += us;
      continue;
    }
    total += us;
    selfByModule.set(mod, (selfByModule.get(mod) ?? 0) + us);
    const fn = label(node.callFrame);
    selfByFn.set(fn, (selfByFn.get(fn) ?? 0) + us);
    const seen = new Set<string>();
    const seenFn = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame;
      const m = moduleOf(frame);
      if (m.startsWith("src/") && frame.functionName !== "") {
        const fn = label(frame);
        if (!seenFn.has(fn)) {
          seenFn.add(fn);
          inclBySrcFn.set(fn, (inclBySrcFn.get(fn) ?? 0) + us);
        }
      }
      if (m === "(root)" || seen.has(m)) continue;
      seen.add(m);
      inclByModule.set(m, (inclByModule.get(m) ?? 0) + us);
    }
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const list = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${pct(v)} ${ms(v)}  ${k}`)
      .join("\n");
  const wall = (p.endTime - p.startTime) / 1000;
  return [
    `profile ${wall.toFixed(0)} ms wall: idle ${(idle / 1000).toFixed(0)} ms, in socket-write bindings ${(socketWrites / 1000).toFixed(0)} ms ` +
      `(left out below: V8 samples wall time, so a thread preempted after waking its peer on a busy machine counts there; ` +
      `the real system-call share is the kernel share of /proc), the rest ${(total / 1000).toFixed(0)} ms = 100% below`,
    `self time by module:`,
    list(selfByModule, top),
    `inclusive time by module (on the stack):`,
    list(inclByModule, top),
    `top functions by self time:`,
    list(selfByFn, top),
    `router functions (src/) by inclusive time (synchronous work under them; awaited I/O continues elsewhere):`,
    list(inclBySrcFn, top),
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: tsx bench/profile-summary.ts FILE.cpuprofile [TOP]\n");
    process.exit(2);
  }
  console.log(summarizeProfile(file, top ? Number(top) : 25));
}
