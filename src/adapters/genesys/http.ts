// The HTTP client of the GMS calls (chat, files, callbacks): kept-alive
// connections; no redirects (one would carry the chat's ids to another host);
// every status comes back to the caller, which classifies it instead of
// axios throwing with the request inside; a timeout is named as one.
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import axios, { type AxiosInstance, type CreateAxiosDefaults } from "axios";

export function gmsHttpClient(extra: CreateAxiosDefaults = {}): AxiosInstance {
  return axios.create({
    httpAgent: new HttpAgent({ keepAlive: true }),
    httpsAgent: new HttpsAgent({ keepAlive: true }),
    maxRedirects: 0,
    validateStatus: () => true,
    transitional: { clarifyTimeoutError: true },
    ...extra,
  });
}
