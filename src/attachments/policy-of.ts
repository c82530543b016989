// The attachment policy (src/core/attachment-policy.ts) a config stands for.
import type { Config } from "../config/schema.js";
import type { AttachmentPolicy } from "../core/attachment-policy.js";

export function attachmentPolicyOf(config: Pick<Config, "attachments" | "xmpp" | "security">): AttachmentPolicy {
  const a = config.attachments;
  return {
    // protocol.md section 10: by default the user domain's upload host (XEP-0363 share on upload.{domain}).
    allowedHosts: (a.allowedHosts ?? [`upload.${config.xmpp.userDomain}`]).map((h) => h.toLowerCase()),
    maxBytes: a.maxBytes,
    allowedTypes: a.allowedTypes,
    maxPerEpisode: a.maxPerEpisode,
    // A file share on loopback (tests, demos) speaks http: the same switch as private bot targets.
    allowHttp: config.security.allowPrivateTargets,
  };
}
