// Fixed-window rate limits (protocol.md section 7: searches per user per
// hour), counted in the database so every instance shares them.
import { at, run, type RepoContext } from "./sql.js";

export interface RateLimitResult {
  allowed: boolean;
  /** The window's count after this hit when allowed, else as it stands. */
  count: number;
}

export interface RateLimitRepository {
  /**
   * Adds `amount` to `key`'s count in the window of `windowMs` holding `now`,
   * if the result stays within `limit`; otherwise counts nothing. Atomic.
   * Earlier windows of the key are dropped on the way.
   */
  hit(key: string, windowMs: number, amount: number, limit: number, now?: Date): Promise<RateLimitResult>;
}

export function rateLimitRepository(ctx: RepoContext): RateLimitRepository {
  return {
    async hit(key, windowMs, amount, limit, now) {
      const t = at(now).getTime();
      const windowStart = new Date(t - (t % windowMs));
      const { rows } = await run<{ counted: number | null; current: number | null }>(
        ctx.q,
        "rate limit",
        `WITH gone AS (
           DELETE FROM rate_limits WHERE key = $1::text AND window_start < $2::timestamptz
         ), up AS (
           INSERT INTO rate_limits AS r (key, window_start, count)
           SELECT $1::text, $2::timestamptz, $3::int WHERE $3::int <= $4::int
           ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + EXCLUDED.count
             WHERE r.count + EXCLUDED.count <= $4::int
           RETURNING count
         )
         SELECT (SELECT count FROM up) AS counted,
                (SELECT count FROM rate_limits WHERE key = $1::text AND window_start = $2::timestamptz) AS current`,
        [key, windowStart, amount, limit],
      );
      const row = rows[0];
      if (row && row.counted !== null) return { allowed: true, count: row.counted };
      return { allowed: false, count: row?.current ?? 0 };
    },
  };
}
