// Where the router may fetch a bot's file from (protocol.md section 10,
// docs/security.md): a host users upload to (attachments.allowedHosts), the
// channel's own bot host, or any address a bot URL may have (public, or
// private with security.allowPrivateTargets). A redirect stays on the file's
// own host, the bot's, or an allowed one: never to a further host, so a file
// URL cannot walk the router into its network.
import type { Config } from "../config/schema.js";
import type { DirectoryCache } from "../router/directory-cache.js";
import { targetProblem } from "../security/targets.js";
import type { FileFetch } from "./fetch-into-store.js";
import { attachmentPolicyOf } from "./policy-of.js";

export interface BotFileHosts {
  allowed: (url: URL, file: FileFetch) => Promise<boolean>;
  allowedRedirect: (url: URL, file: FileFetch) => Promise<boolean>;
}

export function botFileHosts(config: Config, directory: Pick<DirectoryCache, "get"> | undefined): BotFileHosts {
  const hosts = attachmentPolicyOf(config).allowedHosts;
  const inAllowedHosts = (url: URL) => hosts.includes(url.hostname.toLowerCase()) || hosts.includes(url.host.toLowerCase());
  const botHost = async (file: FileFetch) => {
    const bot = (await directory?.get())?.channels.get(file.channel)?.route?.bot?.url;
    return bot ? new URL(bot).host : null;
  };
  return {
    allowed: async (url, file) => {
      if (inAllowedHosts(url) || (await botHost(file)) === url.host) return true;
      return (await targetProblem(url.toString(), config.security)) === null;
    },
    allowedRedirect: async (url, file) => {
      return inAllowedHosts(url) || url.host === new URL(file.url).host || (await botHost(file)) === url.host;
    },
  };
}
