// The HTTP client the adapters share: keep-alive connections (a bot or GMS is
// called for every message), no redirects, and the body handed back as text,
// because axios would silently return a non-JSON body as a string; each
// adapter parses and judges it itself.
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import axios, { type AxiosInstance, type CreateAxiosDefaults } from "axios";

export function textHttpClient(options: CreateAxiosDefaults = {}): AxiosInstance {
  return axios.create({
    httpAgent: new HttpAgent({ keepAlive: true }),
    httpsAgent: new HttpsAgent({ keepAlive: true }),
    responseType: "text",
    transformResponse: [(data: unknown) => data],
    maxRedirects: 0,
    ...options,
  });
}
