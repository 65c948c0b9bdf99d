import { loadOrCreateSigningKey } from "../../broker/signing-key-file.ts";
import type { InjectionOptions } from "../injector/inject-pod.ts";
import { DEFAULT_TOKEN_AUDIENCE } from "./mesh-ca-env.ts";

/**
 * What the injector gives every proxy from the control plane's own settings, so the proxy meets the
 * same mesh: the bus (`JIBE_NATS_URL`), the JWKS that verifies what this control plane signs
 * (`JIBE_TRUST_JWKS`, inline: the Pod has no `$JIBE_HOME`), the trust domain and the token audience
 * the CA checks (`JIBE_TRUST_DOMAIN`, `JIBE_TOKEN_AUDIENCE`).
 *
 * @example
 * ```ts
 * const injection = { kubernetesVersion, proxyImage, ...(await injectedProxySettings(env, home)) };
 * ```
 */
export async function injectedProxySettings(
  env: Readonly<Record<string, string | undefined>>,
  home: string,
): Promise<Pick<InjectionOptions, "proxyEnv" | "trustDomain" | "tokenAudience">> {
  const { trustJwks } = await loadOrCreateSigningKey(home);
  const natsUrl = env.JIBE_NATS_URL?.trim();
  const trustDomain = env.JIBE_TRUST_DOMAIN?.trim();
  return {
    proxyEnv: [
      ...(natsUrl ? [{ name: "JIBE_NATS_URL", value: natsUrl }] : []),
      { name: "JIBE_TRUST_JWKS", value: JSON.stringify(trustJwks) },
    ],
    ...(trustDomain ? { trustDomain } : {}),
    tokenAudience: env.JIBE_TOKEN_AUDIENCE?.trim() || DEFAULT_TOKEN_AUDIENCE,
  };
}
