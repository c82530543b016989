// Number and count formats shared by the scenarios and the table.
export const secs = (ms: number) => (ms / 1000).toFixed(1);

/** "wait/internal-server-error 3, cancel/service-unavailable 1", largest first; "none" when empty. */
export function fmtMap(m: Map<string, number>): string {
  if (m.size === 0) return "none";
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}
