// The Genesys Cloud simulator as the e2e tests start it, and the router's
// genesysCloud settings that reach it (the same credentials on both sides).
import { GenesysCloudSimulator, type SimOptions } from "../../support/genesys-cloud/simulator.js";

const CREDENTIALS = { clientId: "eime", clientSecret: "s3cret", webhookSecret: "wh-secret" };

/** Started, with webhook retries 100 ms apart (Genesys: 5 s) so the tests stay short. */
export async function startCloudSimulator(options: Partial<SimOptions> = {}): Promise<GenesysCloudSimulator> {
  const sim = new GenesysCloudSimulator({ ...CREDENTIALS, webhookTimeoutMs: 2000, retryDelayMs: 100, ...options });
  await sim.start();
  return sim;
}

/** The router's `genesysCloud` settings for `sim`: state read every 200 ms, no rate limit to speak of. */
export function cloudSettings(sim: GenesysCloudSimulator, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiUrl: sim.url, loginUrl: sim.url, ...CREDENTIALS, stateIntervalMs: 200, requestsPerMinute: 6000, ...extra };
}
