// An episode's `serviceName` names its back-end (backends.md 2b): GMS
// episodes keep the GMS service name; Genesys Cloud ones are
// `genesys-cloud:{integrationId}` or `genesys-cloud:{integrationId}/{queueId}`.
// So the operator port, the episode row and the poller stay as they are.
export const CLOUD_PREFIX = "genesys-cloud:";

export function cloudServiceName(integrationId: string, queueId?: string): string {
  return `${CLOUD_PREFIX}${integrationId}${queueId ? `/${queueId}` : ""}`;
}

export function isCloudServiceName(serviceName: string): boolean {
  return serviceName.startsWith(CLOUD_PREFIX);
}

export function parseCloudServiceName(serviceName: string): { integrationId: string; queueId: string | undefined } {
  const [integrationId = "", queueId] = serviceName.slice(CLOUD_PREFIX.length).split("/");
  return { integrationId, queueId: queueId || undefined };
}
