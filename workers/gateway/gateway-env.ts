import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { SidecarError } from "../sidecar/errors.ts";
import { parseLabels } from "../sidecar/sidecar-env.ts";

/** Settings of the standalone ingress gateway, read from the environment. */
export interface GatewayEnv {
  natsUrl: string;
  /** Inline JWKS JSON or a file path (`loadTrustJwks` takes either). */
  trustJwks: string;
  proxy: ProxyIdentity;
  host: string;
  /** Server port → local port (`JIBE_GATEWAY_PORT_MAP`); ports not listed bind as themselves. */
  portMap: Record<number, number>;
  credentialsDir?: string;
}

/** Labels of the gateway when `JIBE_LABELS` is not set: Istio's default ingress gateway's. */
export const DEFAULT_GATEWAY_LABELS: Readonly<Record<string, string>> = { istio: "ingressgateway" };

/**
 * Reads the standalone gateway's settings. Defaults: `JIBE_NATS_URL` nats://127.0.0.1:4222,
 * `JIBE_TRUST_JWKS` $JIBE_HOME/trust.jwks.json, `JIBE_NAMESPACE` istio-system, `JIBE_LABELS`
 * istio=ingressgateway (which Gateways' `selector` must match), `JIBE_PROXY_ID`
 * gateway~<istio label>~<namespace>, `JIBE_GATEWAY_HOST` 0.0.0.0, `JIBE_GATEWAY_PORT_MAP` none
 * (`80=8080,443=8443` binds server port 80 on 8080…), `JIBE_GATEWAY_CREDENTIALS_DIR` unset
 * (`credentialName` then fails closed; the folder holds `<credentialName>/tls.crt`, `tls.key`, `ca.crt`),
 * `JIBE_GATEWAYS` none (Gateway API Gateways it implements, `namespace/name` separated by commas).
 *
 * @example
 * ```ts
 * readGatewayEnv({ JIBE_GATEWAY_PORT_MAP: "80=8080,443=8443" }, "/root/.jibe").portMap; // { 80: 8080, 443: 8443 }
 * ```
 */
export function readGatewayEnv(env: Record<string, string | undefined>, home: string): GatewayEnv {
  const namespace = nonEmpty(env.JIBE_NAMESPACE) ?? "istio-system";
  const labels = nonEmpty(env.JIBE_LABELS)
    ? parseLabels(env.JIBE_LABELS ?? "")
    : { ...DEFAULT_GATEWAY_LABELS };
  const credentialsDir = nonEmpty(env.JIBE_GATEWAY_CREDENTIALS_DIR);
  // Gateway API Gateways are implemented by name, as the edge worker's `JIBE_GATEWAYS`.
  const gateways = (env.JIBE_GATEWAYS ?? "")
    .split(",")
    .map((g) => g.trim())
    .filter((g) => g.length > 0);
  for (const g of gateways)
    if (!/^[^/\s]+\/[^/\s]+$/.test(g))
      throw new SidecarError(
        "sidecar-config-invalid",
        `JIBE_GATEWAYS: "${g}" is not namespace/name; write e.g. infra/web,infra/api`,
        { user: true },
      );
  return {
    natsUrl: nonEmpty(env.JIBE_NATS_URL) ?? "nats://127.0.0.1:4222",
    trustJwks: nonEmpty(env.JIBE_TRUST_JWKS) ?? `${home}/trust.jwks.json`,
    proxy: {
      id: nonEmpty(env.JIBE_PROXY_ID) ?? `gateway~${labels.istio ?? labels.app ?? "gateway"}~${namespace}`,
      role: "gateway",
      namespace,
      labels,
      ...(gateways.length > 0 ? { gateways } : {}),
    },
    host: nonEmpty(env.JIBE_GATEWAY_HOST) ?? "0.0.0.0",
    portMap: parsePortMap(env.JIBE_GATEWAY_PORT_MAP ?? ""),
    ...(credentialsDir ? { credentialsDir } : {}),
  };
}

function parsePortMap(text: string): Record<number, number> {
  const map: Record<number, number> = {};
  for (const item of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [from, to, ...rest] = item.split("=").map((s) => Number(s.trim()));
    if (rest.length > 0 || !isPort(from) || !isPort(to))
      throw new SidecarError(
        "sidecar-config-invalid",
        `JIBE_GATEWAY_PORT_MAP: "${item}" is not serverPort=localPort; write e.g. 80=8080,443=8443`,
        { user: true },
      );
    map[from as number] = to as number;
  }
  return map;
}

function isPort(value: number | undefined): boolean {
  return value !== undefined && Number.isInteger(value) && value >= 0 && value <= 65535;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
