import type { JWK } from "jose";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";

/**
 * The vars the edge worker reads (wrangler `vars`, secrets or test bindings).
 * Wrangler passes a JSON-valued var as an object, a secret always as a string; both are accepted.
 */
export interface EdgeVars {
  /** NATS WebSocket URL, e.g. `ws://127.0.0.1:4223` locally, `wss://nats.example.com` deployed. */
  JIBE_NATS_WS_URL?: string;
  /** Trusted public JWKS of the control plane (JSON text or object). */
  JIBE_TRUST_JWKS?: string | { keys?: unknown };
  /** Namespace of this gateway proxy; default `default`. */
  JIBE_NAMESPACE?: string;
  /** Comma list of gateways (`namespace/name`) this edge implements; default `default/jibe-edge`. */
  JIBE_GATEWAYS?: string;
  /**
   * Labels of this gateway proxy as `key=value,...`, which Istio Gateways select with `selector`;
   * default `istio=ingressgateway` (Istio's ingress gateway, as bookinfo-gateway.yaml selects it).
   */
  JIBE_LABELS?: string;
  /** Name in the proxy id `edge~<name>`; default `local`. */
  JIBE_EDGE_NAME?: string;
  /** Keep-alive alarm period in ms; default 30000. `0` disables the alarm (only for experiments). */
  JIBE_KEEPALIVE_MS?: string;
  /** NATS credentials, when the server wants them (set as secrets): a token, or user + password. */
  JIBE_NATS_TOKEN?: string;
  JIBE_NATS_USER?: string;
  JIBE_NATS_PASSWORD?: string;
}

/** How the holder authenticates to NATS; none when the server needs no auth (local dev). */
export type NatsAuth = { token: string } | { user: string; pass: string } | Record<string, never>;

/** Everything the policy holder needs to connect, verify and compile. */
export interface EdgeConfig {
  natsWsUrl: string;
  trustJwks: { keys: JWK[] };
  proxy: ProxyIdentity;
  keepAliveMs: number;
  natsAuth: NatsAuth;
}

export type EdgeConfigResult = { ok: true; config: EdgeConfig } | { ok: false; problems: string[] };

/** Labels of the edge when `JIBE_LABELS` is not set: Istio's ingress gateway's. */
export const DEFAULT_EDGE_LABELS: Readonly<Record<string, string>> = { istio: "ingressgateway" };

/** Gateways served when `JIBE_GATEWAYS` is not set. */
export const DEFAULT_EDGE_GATEWAYS = ["default/jibe-edge"] as const;
const DEFAULT_KEEPALIVE_MS = 30_000;

/**
 * Reads and checks the edge vars. Problems name the var and how to fix it; the holder reports
 * them on `/__jibe/status` and serves nothing (fail closed) until they are fixed.
 *
 * @example
 * ```ts
 * const result = readEdgeConfig({ JIBE_NATS_WS_URL: "ws://127.0.0.1:4223", JIBE_TRUST_JWKS: jwksJson });
 * if (result.ok) result.config.proxy.id; // "edge~local"
 * ```
 */
export function readEdgeConfig(vars: EdgeVars): EdgeConfigResult {
  const problems: string[] = [];
  const natsWsUrl = (vars.JIBE_NATS_WS_URL ?? "").trim();
  if (!/^wss?:\/\/.+/.test(natsWsUrl)) {
    problems.push(
      `JIBE_NATS_WS_URL: expected a ws:// or wss:// URL of the NATS WebSocket listener, got "${natsWsUrl}"`,
    );
  }
  const trustJwks = readTrustJwks(vars.JIBE_TRUST_JWKS, problems);
  const namespace = vars.JIBE_NAMESPACE?.trim() || "default";
  const gateways = (vars.JIBE_GATEWAYS ?? "")
    .split(",")
    .map((g) => g.trim())
    .filter((g) => g.length > 0);
  const keepAliveMs = vars.JIBE_KEEPALIVE_MS ? Number(vars.JIBE_KEEPALIVE_MS) : DEFAULT_KEEPALIVE_MS;
  if (!Number.isFinite(keepAliveMs) || keepAliveMs < 0) {
    problems.push(`JIBE_KEEPALIVE_MS: expected milliseconds >= 0, got "${vars.JIBE_KEEPALIVE_MS}"`);
  }
  const natsAuth = readNatsAuth(vars, problems);
  const labels = readLabels(vars.JIBE_LABELS, problems);
  if (problems.length > 0 || !trustJwks) return { ok: false, problems };
  const name = vars.JIBE_EDGE_NAME?.trim() || "local";
  return {
    ok: true,
    config: {
      natsWsUrl,
      trustJwks,
      keepAliveMs,
      natsAuth,
      proxy: {
        id: `edge~${name}`,
        role: "gateway",
        namespace,
        labels,
        gateways: gateways.length > 0 ? gateways : [...DEFAULT_EDGE_GATEWAYS],
      },
    },
  };
}

function readLabels(value: string | undefined, problems: string[]): Record<string, string> {
  if (value === undefined || value.trim() === "") return { ...DEFAULT_EDGE_LABELS };
  const labels: Record<string, string> = {};
  for (const pair of value.split(",")) {
    const [key, ...rest] = pair.split("=");
    if (!key?.trim() || rest.length !== 1) {
      problems.push(`JIBE_LABELS: expected key=value pairs separated by commas, got "${pair}"`);
      continue;
    }
    labels[key.trim()] = rest[0]!.trim();
  }
  return labels;
}

function readTrustJwks(value: EdgeVars["JIBE_TRUST_JWKS"], problems: string[]): { keys: JWK[] } | undefined {
  const fix = "set it to the control plane's public JWKS ($JIBE_HOME/trust.jwks.json)";
  let parsed: unknown = value;
  if (typeof value === "string") {
    if (value.trim() === "") {
      problems.push(`JIBE_TRUST_JWKS: empty; ${fix}`);
      return undefined;
    }
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      problems.push(`JIBE_TRUST_JWKS: not JSON (${String(error)}); ${fix}`);
      return undefined;
    }
  }
  const keys = (parsed as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== "object" || k === null)) {
    problems.push(`JIBE_TRUST_JWKS: expected {"keys":[<public JWK>, ...]} with at least one key; ${fix}`);
    return undefined;
  }
  if (keys.some((k) => "d" in k)) {
    problems.push("JIBE_TRUST_JWKS: contains a private key (`d`); give the edge the public JWKS only");
    return undefined;
  }
  return { keys: keys as JWK[] };
}

function readNatsAuth(vars: EdgeVars, problems: string[]): NatsAuth {
  if (vars.JIBE_NATS_TOKEN) return { token: vars.JIBE_NATS_TOKEN };
  if (vars.JIBE_NATS_USER || vars.JIBE_NATS_PASSWORD) {
    if (!vars.JIBE_NATS_USER || !vars.JIBE_NATS_PASSWORD) {
      problems.push("JIBE_NATS_USER / JIBE_NATS_PASSWORD: set both, or neither");
    }
    return { user: vars.JIBE_NATS_USER ?? "", pass: vars.JIBE_NATS_PASSWORD ?? "" };
  }
  return {};
}
