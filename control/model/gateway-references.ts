import type { StoredResource } from "../../broker/events.ts";
import type { Diagnostic } from "../compile/snapshot.ts";
import { formatPath } from "./diagnostics.ts";
import { MESH_GATEWAY, type VirtualServiceSpec } from "./virtual-service.ts";

/**
 * The gateway the edge worker implements without a Gateway resource (`JIBE_GATEWAYS` default), so
 * VirtualServices bound to it are not dangling.
 */
export const DEFAULT_EDGE_GATEWAY = "default/jibe-edge";

/** `gateways` entry → `namespace/name` (Istio: `name`, `ns/name`, or the legacy `name.ns`). */
function gatewayKey(gateway: string, namespace: string): string {
  if (gateway.includes("/")) return gateway;
  const dot = gateway.indexOf(".");
  return dot < 0 ? `${namespace}/${gateway}` : `${gateway.slice(dot + 1)}/${gateway.slice(0, dot)}`;
}

/**
 * Warnings for VirtualServices bound (in `spec.gateways` or a match's `gateways`) to an Istio
 * Gateway that is not among `resources`: until it exists, no proxy serves those routes. Run over
 * everything validated together (`jibe validate -f a.yaml -f b.yaml`).
 *
 * @example
 * ```ts
 * checkGatewayReferences(validateDocuments(docs).resources); // [{ severity: "warning", code: "JIBE1040", ... }]
 * ```
 */
export function checkGatewayReferences(resources: readonly StoredResource[]): Diagnostic[] {
  const gateways = new Set(
    resources.filter((r) => r.kind === "Gateway").map((r) => `${r.metadata.namespace}/${r.metadata.name}`),
  );
  gateways.add(DEFAULT_EDGE_GATEWAY);
  const out: Diagnostic[] = [];
  for (const r of resources) {
    if (r.kind !== "VirtualService") continue;
    const spec = r.spec as VirtualServiceSpec;
    const ref = `VirtualService/${r.metadata.namespace}/${r.metadata.name}`;
    const check = (gateway: string, path: (string | number)[]) => {
      if (gateway === MESH_GATEWAY) return;
      const key = gatewayKey(gateway, r.metadata.namespace);
      if (gateways.has(key)) return;
      out.push({
        severity: "warning",
        code: "JIBE1040",
        resource: ref,
        path: formatPath(path),
        message: `Gateway ${key} does not exist among the validated resources; no gateway serves these routes until it is applied (apply it with this VirtualService, or fix the name)`,
      });
    };
    spec.gateways?.forEach((g, i) => {
      check(g, ["spec", "gateways", i]);
    });
    spec.http?.forEach((rule, i) => {
      rule.match?.forEach((m, j) => {
        m.gateways?.forEach((g, k) => {
          check(g, ["spec", "http", i, "match", j, "gateways", k]);
        });
      });
    });
  }
  return out;
}
