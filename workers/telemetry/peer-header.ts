import type { WorkloadMetadata } from "./workload-metadata.ts";

/**
 * Header carrying a proxy's {@link WorkloadMetadata} to its peer: on the request (source → destination
 * proxy) and on the response (destination → source proxy). Each proxy removes it before the app
 * sees it. Istio's equivalent is `x-envoy-peer-metadata` (base64 protobuf); this one is readable:
 * `w=reviews-v1,n=default,a=reviews,v=v1,s=reviews,r=v1,c=Kubernetes`, values URI-encoded.
 */
export const PEER_HEADER = "x-jibe-peer";

/** Longest header value accepted; a peer sending more is treated as unknown. */
const MAX_LENGTH = 2048;

const KEYS: ReadonlyArray<[string, keyof WorkloadMetadata]> = [
  ["w", "workload"],
  ["n", "namespace"],
  ["a", "app"],
  ["v", "version"],
  ["s", "canonicalService"],
  ["r", "canonicalRevision"],
  ["c", "cluster"],
];

/**
 * Encodes workload metadata for {@link PEER_HEADER}.
 *
 * @example
 * ```ts
 * encodePeerHeader(workloadMetadataOf(proxy)); // "w=reviews-v1,n=default,a=reviews,..."
 * ```
 */
export function encodePeerHeader(meta: WorkloadMetadata): string {
  return KEYS.map(([key, field]) => `${key}=${encodeURIComponent(meta[field])}`).join(",");
}

/**
 * Decodes {@link PEER_HEADER}; undefined when absent, oversized or malformed (the peer is then
 * reported as `unknown`, as Istio does for peers outside the mesh). Unknown keys are ignored so
 * newer proxies can add fields.
 *
 * @example
 * ```ts
 * decodePeerHeader("w=ratings-v1,n=default,a=ratings,v=v1,s=ratings,r=v1,c=Kubernetes")?.workload; // "ratings-v1"
 * ```
 */
export function decodePeerHeader(value: string | undefined): WorkloadMetadata | undefined {
  if (value === undefined || value.length === 0 || value.length > MAX_LENGTH) return undefined;
  const fields = new Map<string, string>();
  for (const pair of value.split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) return undefined;
    try {
      fields.set(pair.slice(0, eq).trim(), decodeURIComponent(pair.slice(eq + 1).trim()));
    } catch {
      return undefined;
    }
  }
  const workload = fields.get("w");
  const namespace = fields.get("n");
  if (!workload || !namespace) return undefined;
  const meta = {} as WorkloadMetadata;
  for (const [key, field] of KEYS) meta[field] = fields.get(key) || "unknown";
  return meta;
}
