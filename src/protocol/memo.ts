// Results of pure functions of a string kept for the strings seen last
// (issue 14: the same thread, JID and channel come with every message of a
// conversation). Bounded (design.md rule 7): when full, the oldest entry
// goes first (a Map iterates in insertion order). Results are shared between
// callers, so they must be treated as read-only.

/** Entries kept by default: a few hundred bytes each, a few MB at most. */
export const DEFAULT_MEMO_ENTRIES = 10_000;

/** `fn` with its results kept for the last `max` distinct arguments; longer arguments than `maxKeyLength` are not kept. */
export function memoize<R>(fn: (key: string) => R, max = DEFAULT_MEMO_ENTRIES, maxKeyLength = 1024): (key: string) => R {
  const kept = new Map<string, R>();
  return (key) => {
    const hit = kept.get(key);
    if (hit !== undefined || kept.has(key)) return hit as R;
    const value = fn(key);
    if (key.length > maxKeyLength) return value;
    if (kept.size >= max) kept.delete(kept.keys().next().value as string);
    kept.set(key, value);
    return value;
  };
}
