// A loopback file share for the e2e tests: what a client's XEP-0363 upload
// would have put on the XMPP server's share, served at http://{host}{path}
// as image/png (a path never put answers 404); and the real upload to the
// XMPP server's own share (Prosody's mod_http_file_share), as a client does it.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import xml from "@xmpp/xml";
import type { TestClient } from "../harness/client.js";

export interface FileShare {
  /** host:port, for attachments.allowedHosts. */
  readonly host: string;
  /** Random bytes at `path`; their URL. */
  put(path: string, bytes: number): { url: string; content: Buffer };
  close(): Promise<void>;
}

export async function startFileShare(): Promise<FileShare> {
  const shared = new Map<string, Buffer>();
  const server = createServer((req, res) => {
    const body = shared.get(req.url ?? "");
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "image/png", "content-length": body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    put(path, bytes) {
      const content = randomBytes(bytes);
      shared.set(path, content);
      return { url: `http://${host}${path}`, content };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const NS_UPLOAD = "urn:xmpp:http:upload:0";
let slots = 0;

/**
 * What a client does for a file (XEP-0363 sections 4–5): asks the server's
 * share (`shareJid`) for a slot, PUTs the bytes with the headers the slot
 * names; resolves with the URL to GET it from (what the client then sends).
 */
export async function uploadToShare(
  client: TestClient,
  shareJid: string,
  file: { name: string; content: Buffer; type: string },
): Promise<string> {
  const request = xml("request", { xmlns: NS_UPLOAD, filename: file.name, size: String(file.content.length), "content-type": file.type });
  const answer = await client.iq(xml("iq", { type: "get", to: shareJid, id: `slot-${++slots}` }, request), 10_000);
  const slot = answer.getChild("slot", NS_UPLOAD);
  const put = slot?.getChild("put");
  if (!slot || !put) throw new Error(`no upload slot in ${answer.toString()}`);
  const headers: Record<string, string> = { "content-type": file.type };
  for (const h of put.getChildren("header")) headers[String(h.attrs.name).toLowerCase()] = h.text();
  const res = await fetch(String(put.attrs.url), { method: "PUT", headers, body: file.content });
  if (res.status !== 201) throw new Error(`the share answered the PUT with ${res.status}`);
  return String(slot.getChild("get")!.attrs.url);
}
