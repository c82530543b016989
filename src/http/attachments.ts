// GET /attachments/{id}?u=&e=&s= (protocol.md section 10): a stored file for
// the one user its signed URL names, until it expires. 403 for a signature
// that is not ours (another user's URL, an altered one), 410 once expired,
// 404 when the file is gone (retention, admin delete).
import type { FastifyInstance } from "fastify";
import { checkSignature } from "../attachments/signed-url.js";
import type { Store } from "../store/index.js";

export interface AttachmentRouteDeps {
  store: () => Store | undefined;
  key: Buffer;
  now?: () => Date;
}

/** A name safe in a quoted Content-Disposition filename (RFC 6266), with the full one as filename*. */
function disposition(name: string | null): string {
  if (!name) return "inline";
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `inline; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function attachmentRoutes(app: FastifyInstance, deps: AttachmentRouteDeps): void {
  app.get<{ Params: { id: string }; Querystring: { u?: string; e?: string; s?: string } }>("/attachments/:id", async (request, reply) => {
    const check = checkSignature(deps.key, { id: request.params.id, ...request.query }, deps.now?.() ?? new Date());
    if (check === "forged") return reply.code(403).send({ error: "FORBIDDEN", message: "this link is not valid" });
    if (check === "expired") return reply.code(410).send({ error: "EXPIRED", message: "this link has expired" });
    const store = deps.store();
    if (!store) return reply.code(503).send({ error: "SERVICE_UNAVAILABLE", message: "the router is not started" });
    const meta = await store.attachments.get(request.params.id);
    const content = meta ? await store.attachments.content(meta.id) : null;
    if (!meta || !content) return reply.code(404).send({ error: "NOT_FOUND", message: "no such file" });
    return reply
      .header("content-type", meta.mediaType)
      .header("content-disposition", disposition(meta.name))
      .header("x-content-type-options", "nosniff") // a stored file is never run as a page
      .header("content-security-policy", "default-src 'none'; sandbox")
      .header("cache-control", "private, no-store")
      .send(content);
  });
}
