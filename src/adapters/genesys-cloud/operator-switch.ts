// Both operator back-ends in one router (backends.md 2 and 2b): each call
// goes to the one the episode's serviceName names (service-name.ts). A
// back-end that is not configured leaves its episodes to the other, which
// refuses them (GMS answers 404 to a Genesys Cloud service name: GENESYS#0001).
import type { OperatorPort } from "../../core/ports.js";
import { isCloudServiceName } from "./service-name.js";

export function operatorSwitch(gms: OperatorPort | null, cloud: OperatorPort | null): OperatorPort | null {
  if (!gms || !cloud) return gms ?? cloud;
  const pick = (serviceName: string): OperatorPort => (isCloudServiceName(serviceName) ? cloud : gms);
  return {
    requestChat: (req) => pick(req.serviceName).requestChat(req),
    send: (s, chat, text, messageId, position) => pick(s).send(s, chat, text, messageId, position),
    refresh: (s, chat, position) => pick(s).refresh(s, chat, position),
    typing: (s, chat, typing) => pick(s).typing(s, chat, typing),
    disconnect: (s, chat) => pick(s).disconnect(s, chat),
    updateData: (s, chat, data) => pick(s).updateData(s, chat, data),
    customNotice: (s, chat, text) => pick(s).customNotice(s, chat, text),
    // GMS only (backends.md section 2); a back-end without them does nothing.
    readReceipt: async (s, chat, position) => pick(s).readReceipt?.(s, chat, position),
    updateNickname: async (s, chat, nickname) => pick(s).updateNickname?.(s, chat, nickname),
  };
}
