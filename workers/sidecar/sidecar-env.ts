import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { type AppProbers, parseAppProbers } from "./app-probes.ts";
import { SidecarError } from "./errors.ts";

/** Settings of the standalone sidecar, read from the environment. */
export interface SidecarEnv {
  natsUrl: string;
  /** Inline JWKS JSON or a file path (`loadTrustJwks` takes either). */
  trustJwks: string;
  proxy: ProxyIdentity;
  appPort: number;
  inboundPort: number;
  outboundPort: number;
  host: string;
  adminPort?: number;
  /** The app's rewritten kubelet probes (`JIBE_KUBE_APP_PROBERS`, or Istio's `ISTIO_KUBE_APP_PROBERS`). */
  appProbers?: AppProbers;
}

/** Istio's sidecar ports, used when the environment does not name others. */
export const DEFAULT_INBOUND_PORT = 15006;
export const DEFAULT_OUTBOUND_PORT = 15001;

/**
 * Reads the standalone sidecar's settings. Required: `JIBE_APP_PORT`. Defaults:
 * `JIBE_NATS_URL` nats://127.0.0.1:4222, `JIBE_TRUST_JWKS` $JIBE_HOME/trust.jwks.json,
 * `JIBE_NAMESPACE` default, `JIBE_LABELS` none, `JIBE_PROXY_ID` sidecar~<app>-<version>~<namespace>,
 * `JIBE_INBOUND_PORT` 15006, `JIBE_OUTBOUND_PORT` 15001, `JIBE_SIDECAR_HOST` 127.0.0.1,
 * `JIBE_SIDECAR_ADMIN_PORT` unset (no admin listener), `JIBE_KUBE_APP_PROBERS` (or
 * `ISTIO_KUBE_APP_PROBERS`) unset (no `/app-health/` probes).
 *
 * @example
 * ```ts
 * readSidecarEnv({ JIBE_APP_PORT: "9080", JIBE_LABELS: "app=reviews,version=v1" }, "/root/.jibe");
 * // proxy.id "sidecar~reviews-v1~default", outboundPort 15001, ...
 * ```
 */
export function readSidecarEnv(env: Record<string, string | undefined>, home: string): SidecarEnv {
  const namespace = nonEmpty(env.JIBE_NAMESPACE) ?? "default";
  const labels = parseLabels(env.JIBE_LABELS ?? "");
  const workload = [labels.app, labels.version].filter(Boolean).join("-") || "workload";
  const appPort = port(env, "JIBE_APP_PORT", undefined);
  const adminPort = nonEmpty(env.JIBE_SIDECAR_ADMIN_PORT)
    ? port(env, "JIBE_SIDECAR_ADMIN_PORT", undefined)
    : undefined;
  const probers = nonEmpty(env.JIBE_KUBE_APP_PROBERS) ?? nonEmpty(env.ISTIO_KUBE_APP_PROBERS);
  return {
    natsUrl: nonEmpty(env.JIBE_NATS_URL) ?? "nats://127.0.0.1:4222",
    trustJwks: nonEmpty(env.JIBE_TRUST_JWKS) ?? `${home}/trust.jwks.json`,
    proxy: {
      id: nonEmpty(env.JIBE_PROXY_ID) ?? `sidecar~${workload}~${namespace}`,
      role: "sidecar",
      namespace,
      labels,
    },
    appPort,
    inboundPort: port(env, "JIBE_INBOUND_PORT", DEFAULT_INBOUND_PORT),
    outboundPort: port(env, "JIBE_OUTBOUND_PORT", DEFAULT_OUTBOUND_PORT),
    host: nonEmpty(env.JIBE_SIDECAR_HOST) ?? "127.0.0.1",
    ...(adminPort === undefined ? {} : { adminPort }),
    ...(probers === undefined ? {} : { appProbers: parseAppProbers(probers) }),
  };
}

/**
 * Parses workload labels written as `app=reviews,version=v1`.
 *
 * @example
 * ```ts
 * parseLabels("app=reviews, version=v1"); // { app: "reviews", version: "v1" }
 * ```
 */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const item = pair.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    const key = eq === -1 ? "" : item.slice(0, eq).trim();
    if (key === "") {
      throw new SidecarError(
        "sidecar-config-invalid",
        `JIBE_LABELS: "${item}" is not key=value; write labels like app=reviews,version=v1`,
        { user: true },
      );
    }
    labels[key] = item.slice(eq + 1).trim();
  }
  return labels;
}

function port(env: Record<string, string | undefined>, name: string, fallback: number | undefined): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) {
    if (fallback !== undefined) return fallback;
    throw new SidecarError(
      "sidecar-config-invalid",
      `${name} is required: set it to the port number to use`,
      {
        user: true,
      },
    );
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new SidecarError(
      "sidecar-config-invalid",
      `${name}=${raw} is not a port; use an integer from 0 to 65535`,
      {
        user: true,
      },
    );
  }
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
