// A JSON POST over node:http(s) with keep-alive, a hard timeout and a bounded
// answer. The bot is called for every user message: measured on the test
// machine, axios and fetch cost about four times the CPU of node:http per call
// (docs/performance.md), so the hot path uses it directly.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

/** Answers larger than this are cut off as a failure: a bot has no business sending megabytes. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export class HttpPostError extends Error {
  constructor(
    message: string,
    /** "timeout", "network", "stale-socket", "too-large", or the HTTP status as text. */
    readonly kind: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "HttpPostError";
  }
}

export interface PostAnswer {
  status: number;
  body: string;
}

export function postJson(
  url: string,
  body: unknown,
  options: { timeoutMs: number; headers?: Record<string, string> },
): Promise<PostAnswer> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  const data = Buffer.from(JSON.stringify(body));
  return new Promise<PostAnswer>((resolve, reject) => {
    let settled = false;
    let answered = false;
    const fail = (err: HttpPostError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const req = send(
      target,
      {
        method: "POST",
        agent: target.protocol === "https:" ? httpsAgent : httpAgent,
        headers: { "content-type": "application/json", "content-length": String(data.length), ...options.headers },
      },
      (res: IncomingMessage) => {
        answered = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) return fail(new HttpPostError(`answer larger than ${MAX_ANSWER_BYTES} bytes`, "too-large"));
          chunks.push(chunk);
        });
        res.on("error", (err) => fail(new HttpPostError(err.message, "network", { cause: err })));
        res.on("end", () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        });
      },
    );
    // One bound for the whole exchange: connect, send, wait, read (design.md rule 7).
    const timer = setTimeout(() => fail(new HttpPostError(`no answer within ${options.timeoutMs} ms`, "timeout")), options.timeoutMs);
    req.on("error", (err: NodeJS.ErrnoException) => {
      // A kept-alive socket the server had closed while idle: it never read this request (Node's http docs, `request.reusedSocket`).
      const stale = err.code === "ECONNRESET" && req.reusedSocket && !answered;
      fail(new HttpPostError(err.code ?? err.message, stale ? "stale-socket" : "network", { cause: err }));
    });
    req.end(data);
  });
}
