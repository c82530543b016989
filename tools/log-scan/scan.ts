// The log scan of the e2e run (issue 13, design.md rule 6): no raw MSISDN and
// no token or secret appears in what the router logged. Pure: lines in,
// findings out (main.ts reads the files). Three kinds of finding:
//   - a value the e2e harness declared sensitive (admin tokens, component and
//     token-verifier secrets, secret keys: the `*.watch` files beside the logs);
//   - an MSISDN of the test numbering plan (Italian mobile numbers, +39 3…,
//     international or national, in a JID or alone), not part of a longer
//     word or number (hashes, tags and timestamps are not);
//   - a user token of the HMAC verifier's form ({expiry}.{64 hex}).
// What the router may log instead is the key ring's tag (msisdn#…).

export interface Finding {
  file: string;
  line: number;
  kind: "watched value" | "msisdn" | "token";
  /** The match, shortened: the report must not become the leak. */
  excerpt: string;
}

const EDGE_BEFORE = "(?<![0-9A-Za-z])";
const EDGE_AFTER = "(?![0-9A-Za-z])";
/** +39 / 0039 / 39 then a mobile number (3 and 9 more digits), or the national form alone. */
export const MSISDN = new RegExp(`${EDGE_BEFORE}(?:(?:\\+|00)?39)?3\\d{9}${EDGE_AFTER}`, "g");
/** src/adapters/token/verifiers.ts issueHmacToken: `{unix seconds}.{hex sha256}`. */
export const HMAC_TOKEN = new RegExp(`${EDGE_BEFORE}\\d{9,12}\\.[0-9a-f]{64}${EDGE_AFTER}`, "g");

const shorten = (s: string) => (s.length <= 6 ? `${s.slice(0, 2)}…` : `${s.slice(0, 4)}…${s.slice(-2)}`);

export function scanLines(file: string, lines: readonly string[], watched: readonly string[]): Finding[] {
  const values = watched.filter((v) => v.length >= 6);
  const findings: Finding[] = [];
  lines.forEach((text, i) => {
    const at = (kind: Finding["kind"], match: string) => findings.push({ file, line: i + 1, kind, excerpt: shorten(match) });
    for (const v of values) if (text.includes(v)) at("watched value", v);
    for (const m of text.matchAll(MSISDN)) at("msisdn", m[0]);
    for (const m of text.matchAll(HMAC_TOKEN)) at("token", m[0]);
  });
  return findings;
}
