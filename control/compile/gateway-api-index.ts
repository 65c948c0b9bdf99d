import type { StoredResource } from "../../broker/events.ts";
import {
  type HttpRouteApiSpec,
  isServiceParent,
  type KubernetesGatewaySpec,
  type ReferenceGrantSpec,
} from "../model/gateway-api.ts";
import { serviceFqdn } from "./host-names.ts";
import type { Indexed } from "./resource-index.ts";

/** The Gateway API resources of one resource set, ready for the route compiler. */
export interface GatewayApiIndex {
  /** Gateways (`KubernetesGateway`) by `namespace/name`. */
  gateways: Map<string, Indexed<KubernetesGatewaySpec>>;
  /** HTTPRoutes, oldest first (the Gateway API's tie-break order). */
  httpRoutes: Indexed<HttpRouteApiSpec>[];
  referenceGrants: Indexed<ReferenceGrantSpec>[];
}

/** An empty index to fill with {@link addGatewayApiResource}. */
export function emptyGatewayApiIndex(): GatewayApiIndex {
  return { gateways: new Map(), httpRoutes: [], referenceGrants: [] };
}

/** Adds one indexed Gateway API resource; other kinds are ignored. */
export function addGatewayApiResource(index: GatewayApiIndex, kind: string, item: Indexed<unknown>): void {
  if (kind === "KubernetesGateway")
    index.gateways.set(`${item.namespace}/${item.name}`, item as Indexed<KubernetesGatewaySpec>);
  else if (kind === "HTTPRoute") index.httpRoutes.push(item as Indexed<HttpRouteApiSpec>);
  else if (kind === "ReferenceGrant") index.referenceGrants.push(item as Indexed<ReferenceGrantSpec>);
}

/** Sorts routes by the Gateway API tie-break: creation time, then `namespace/name`. */
export function finishGatewayApiIndex(index: GatewayApiIndex): void {
  index.httpRoutes.sort(
    (a, b) =>
      compare(a.created, b.created) || compare(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Dependency tokens of a Gateway API resource (see `resourceTokens`): every one touches
 * `gwapi:*` (gateway routes and backend grants); an HTTPRoute attached to a Service also
 * touches `vs:<fqdn>`, so the sidecars' virtual host for that Service is rebuilt.
 */
export function gatewayApiTokens(resource: StoredResource, suffix: string): string[] {
  if (resource.kind !== "HTTPRoute") return ["gwapi:*"];
  const spec = resource.spec as HttpRouteApiSpec;
  const { namespace } = resource.metadata;
  const services = (spec.parentRefs ?? [])
    .filter(isServiceParent)
    .map((p) => `vs:${serviceFqdn(p.name, p.namespace ?? namespace, suffix)}`);
  return ["gwapi:*", ...services];
}

/**
 * Whether a ReferenceGrant in `toNamespace` lets an HTTPRoute in `fromNamespace` refer to the
 * Service `name` there (a grant `to` entry without a name covers every Service).
 */
export function isReferenceGranted(
  index: GatewayApiIndex,
  fromNamespace: string,
  toNamespace: string,
  name: string,
): boolean {
  return index.referenceGrants.some(
    (grant) =>
      grant.namespace === toNamespace &&
      grant.spec.from.some(
        (f) =>
          f.group === "gateway.networking.k8s.io" && f.kind === "HTTPRoute" && f.namespace === fromNamespace,
      ) &&
      grant.spec.to.some(
        (t) =>
          (t.group === "" || t.group === "core") &&
          t.kind === "Service" &&
          (t.name === undefined || t.name === name),
      ),
  );
}
