// A loopback file share for the e2e tests: what a client's XEP-0363 upload
// would have put on the XMPP server's share, served at http://{host}{path}
// as image/png (a path never put answers 404).
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

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
