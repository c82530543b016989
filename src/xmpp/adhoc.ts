// XEP-0050 ad-hoc commands on each channel JID (protocol.md section 9):
// "operator", "close", "reset", "vote" and, where the route offers callbacks,
// "callback", listed in disco#items of the commands node and executed at
// once, like the command words. The routes
// wrap the directory's disco handlers: a request for the commands node, or a
// command node, is answered here, any other goes on to them.
import { randomUUID } from "node:crypto";
import type { Element } from "@xmpp/xml";
import type { Config } from "../config/schema.js";
import {
  NS_COMMANDS,
  NS_DISCO_INFO,
  NS_DISCO_ITEMS,
  channelCommands,
  commandCanceled,
  commandCompleted,
  commandItems,
  commandNodeInfo,
  errorElement,
  isPlainCommand,
  protocolErrorText,
} from "../protocol/index.js";
import type { DirectoryCache } from "../router/directory-cache.js";
import { iqKey, type IqHandler, type IqRequest } from "./dispatch.js";
import type { PlainInbound } from "./plain-inbound.js";

export interface AdHocDeps {
  config: Config;
  directory: DirectoryCache;
  plain: () => PlainInbound;
}

const langOf = (req: IqRequest, config: Config): string => {
  const l: unknown = req.stanza.attrs["xml:lang"];
  return typeof l === "string" && l !== "" ? l : config.protocol.defaultLang;
};

export function withAdHocCommands(routes: Record<string, IqHandler>, deps: AdHocDeps): Record<string, IqHandler> {
  const { config } = deps;
  const ns = config.protocol.namespace;
  /** The commands of the channel at `local`; undefined when it is no channel. */
  const commandsAt = async (local: string) => {
    const channel = local === "" ? undefined : (await deps.directory.get()).channels.get(local);
    return channel ? channelCommands(channel) : undefined;
  };
  const offers = async (local: string, node: unknown): Promise<boolean> =>
    isPlainCommand(node) && ((await commandsAt(local))?.includes(node) ?? false);
  const infoKey = iqKey("get", NS_DISCO_INFO, "query");
  const itemsKey = iqKey("get", NS_DISCO_ITEMS, "query");
  const baseInfo = routes[infoKey];
  const baseItems = routes[itemsKey];

  return {
    ...routes,
    [itemsKey]: async (req) => {
      const commands = req.child.attrs.node === NS_COMMANDS ? await commandsAt(req.to.local) : undefined;
      if (commands) return commandItems(req.to.bare, langOf(req, config), commands);
      return baseItems?.(req);
    },
    [infoKey]: async (req) => {
      const node: unknown = req.child.attrs.node;
      if (isPlainCommand(node) && (await offers(req.to.local, node))) return commandNodeInfo(node, langOf(req, config));
      return baseInfo?.(req);
    },
    [iqKey("set", NS_COMMANDS, "command")]: async (req): Promise<Element> => {
      const node: unknown = req.child.attrs.node;
      if (!isPlainCommand(node) || !(await offers(req.to.local, node))) {
        return errorElement("NO_CHANNEL_FOUND", `node: no command ${String(node)} at ${req.to.bare}`, { namespace: ns, by: req.to.full });
      }
      const session = typeof req.child.attrs.sessionid === "string" ? req.child.attrs.sessionid : randomUUID();
      if (req.child.attrs.action === "cancel") return commandCanceled(node, session);
      const lang = langOf(req, config);
      const refused = await deps.plain().runCommand(node, req.to, req.from, lang);
      return commandCompleted(node, session, lang, refused ? protocolErrorText(refused) : undefined);
    },
  };
}
