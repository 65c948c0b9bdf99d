import { parseDurationMs } from "../../control/model/duration.ts";
import { parseWorkloadId, type WorkloadId } from "../../identity/spiffe-id.ts";
import { SidecarError } from "./errors.ts";

/** How the standalone sidecar gets its workload certificate, read from the environment. */
export interface IdentityEnv {
  id: WorkloadId;
  /**
   * `join-token`: a token given inline or in a file (read once); `kubernetes`: a projected
   * service-account token file, re-read at every renewal (the kubelet refreshes it).
   */
  credential: { type: "join-token"; token: string } | { type: "kubernetes"; tokenFile: string };
  /** Requested certificate lifetime (Istio's `SECRET_TTL`); the CA's default when absent. */
  ttlSeconds?: number;
}

/**
 * Reads the sidecar's identity settings; `undefined` (plaintext only) unless a credential is given.
 * `JIBE_JOIN_TOKEN` or `JIBE_JOIN_TOKEN_FILE` (VMs), or `JIBE_SERVICE_ACCOUNT_TOKEN_FILE`
 * (Kubernetes, checked by the CA with TokenReview). The SPIFFE ID is
 * `spiffe://<JIBE_TRUST_DOMAIN|cluster.local>/ns/<JIBE_NAMESPACE|default>/sa/<JIBE_SERVICE_ACCOUNT|SERVICE_ACCOUNT|default>`.
 * `SECRET_TTL` (e.g. `48h`, as in Istio's proxyMetadata) asks for another lifetime.
 *
 * @example
 * ```ts
 * readIdentityEnv({ JIBE_JOIN_TOKEN_FILE: "/etc/jibe/join-token", JIBE_SERVICE_ACCOUNT: "reviews", SECRET_TTL: "12h" }, readFile);
 * ```
 */
export function readIdentityEnv(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
): IdentityEnv | undefined {
  const inline = nonEmpty(env.JIBE_JOIN_TOKEN);
  const tokenFile = nonEmpty(env.JIBE_JOIN_TOKEN_FILE);
  const saTokenFile = nonEmpty(env.JIBE_SERVICE_ACCOUNT_TOKEN_FILE);
  if ([inline, tokenFile, saTokenFile].filter(Boolean).length > 1) {
    throw invalid(
      "JIBE_JOIN_TOKEN, JIBE_JOIN_TOKEN_FILE and JIBE_SERVICE_ACCOUNT_TOKEN_FILE exclude each other; set one",
    );
  }
  let credential: IdentityEnv["credential"];
  if (inline) credential = { type: "join-token", token: inline };
  else if (tokenFile)
    credential = { type: "join-token", token: readToken(readFile, tokenFile, "JIBE_JOIN_TOKEN_FILE") };
  else if (saTokenFile) credential = { type: "kubernetes", tokenFile: saTokenFile };
  else return undefined;
  const trustDomain = nonEmpty(env.JIBE_TRUST_DOMAIN) ?? "cluster.local";
  const namespace = nonEmpty(env.JIBE_NAMESPACE) ?? "default";
  const serviceAccount = nonEmpty(env.JIBE_SERVICE_ACCOUNT) ?? nonEmpty(env.SERVICE_ACCOUNT) ?? "default";
  const parsed = parseWorkloadId(`spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`);
  if (!parsed.ok)
    throw invalid(`JIBE_TRUST_DOMAIN / JIBE_NAMESPACE / JIBE_SERVICE_ACCOUNT: ${parsed.message}`);
  const ttl = nonEmpty(env.SECRET_TTL);
  const ttlMs = ttl === undefined ? undefined : parseDurationMs(ttl);
  if (ttl !== undefined && (ttlMs === undefined || ttlMs < 1000)) {
    throw invalid(`SECRET_TTL=${ttl} is not a duration of at least 1s; write it like 24h or 90m`);
  }
  return {
    id: parsed.id,
    credential,
    ...(ttlMs === undefined ? {} : { ttlSeconds: Math.floor(ttlMs / 1000) }),
  };
}

/** Reads a token file (trimmed), naming the variable when it cannot. */
export function readToken(readFile: (path: string) => string, path: string, variable: string): string {
  try {
    const token = readFile(path).trim();
    if (token === "") throw new Error("the file is empty");
    return token;
  } catch (error) {
    throw invalid(`${variable}=${path}: ${(error as Error).message}`);
  }
}

function invalid(message: string): SidecarError {
  return new SidecarError("sidecar-config-invalid", message, { user: true });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
