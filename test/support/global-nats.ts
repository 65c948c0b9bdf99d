import type { TestProject } from "vitest/node";
import { generateSigningKey } from "../../broker/envelope.ts";
import { resolveNatsServer } from "../../broker/nats-launcher.ts";

/**
 * Vitest globalSetup: one real nats-server for the whole run (or the one `JIBE_NATS_URL` /
 * `JIBE_NATS_WS_URL` name) and a fresh test signing key. Tests read them with `inject(...)`;
 * workerd tests get them as bindings (see vitest.config.ts).
 */

declare module "vitest" {
  export interface ProvidedContext {
    /** `nats://127.0.0.1:<port>` */
    natsUrl: string;
    /** `ws://127.0.0.1:<port>`; empty when an external server without JIBE_NATS_WS_URL is used. */
    natsWsUrl: string;
    /** JSON of the test control plane's private ES256 JWK (with kid). */
    testSigningJwk: string;
    /** JSON of the JWKS trusting that key. */
    testTrustJwks: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const nats = await resolveNatsServer(process.env);
  if (nats.external && !nats.wsUrl) {
    console.warn(
      "global-nats: JIBE_NATS_URL is set without JIBE_NATS_WS_URL; workerd tests cannot reach NATS",
    );
  }
  const { privateJwk, publicJwks } = await generateSigningKey();
  project.provide("natsUrl", nats.url);
  project.provide("natsWsUrl", nats.wsUrl ?? "");
  project.provide("testSigningJwk", JSON.stringify(privateJwk));
  project.provide("testTrustJwks", JSON.stringify(publicJwks));
  return () => nats.stop();
}
