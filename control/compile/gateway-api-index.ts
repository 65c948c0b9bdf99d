import type { StoredResource } from "../../broker/events.ts";
import {
  type HttpRouteApiSpec,
  isServiceParent,
  type KubernetesGatewaySpec,
  type ReferenceGrantSpec,
} from "../model/gateway-api.ts";
import type { GrpcRouteSpec } from "../model/grpc-route.ts";
import type { TcpRouteSpec, TlsRouteSpec } from "../model/stream-routes.ts";
import { grpcRouteAsHttpRoute } from "./grpc-routes.ts";
import { serviceFqdn } from "./host-names.ts";
import type { Indexed } from "./resource-index.ts";

/** The Gateway API resources of one resource set, ready for the route compiler. */
export interface GatewayApiIndex {
  /** Gateways (`KubernetesGateway`) by `namespace/name`. */
  gateways: Map<string, Indexed<KubernetesGatewaySpec>>;
  /**
   * HTTPRoutes and GRPCRoutes (as their equivalent HTTPRoute, `grpc-routes.ts`; `ref` keeps the
   * kind), oldest first (the Gateway API's tie-break order).
   */
  httpRoutes: Indexed<HttpRouteApiSpec>[];
  referenceGrants: Indexed<ReferenceGrantSpec>[];
  /** TCPRoutes and TLSRoutes (experimental channel), oldest first. */
  tcpRoutes: Indexed<TcpRouteSpec>[];
  tlsRoutes: Indexed<TlsRouteSpec>[];
  /** The GRPCRoutes as written, by `ref` (their own match precedence: service, then method). */
  grpcSpecs: Map<string, GrpcRouteSpec>;
  /** Labels of every Namespace resource by name (`allowedRoutes.namespaces.from: Selector`). */
  namespaceLabels: Map<string, Readonly<Record<string, string>>>;
}

/** An empty index to fill with {@link addGatewayApiResource}. */
export function emptyGatewayApiIndex(): GatewayApiIndex {
  return {
    gateways: new Map(),
    httpRoutes: [],
    referenceGrants: [],
    tcpRoutes: [],
    tlsRoutes: [],
    grpcSpecs: new Map(),
    namespaceLabels: new Map(),
  };
}

/** Adds one indexed Gateway API resource; other kinds are ignored. */
export function addGatewayApiResource(index: GatewayApiIndex, kind: string, item: Indexed<unknown>): void {
  if (kind === "KubernetesGateway")
    index.gateways.set(`${item.namespace}/${item.name}`, item as Indexed<KubernetesGatewaySpec>);
  else if (kind === "HTTPRoute") index.httpRoutes.push(item as Indexed<HttpRouteApiSpec>);
  else if (kind === "GRPCRoute") {
    index.grpcSpecs.set(item.ref, item.spec as GrpcRouteSpec);
    index.httpRoutes.push({ ...item, spec: grpcRouteAsHttpRoute(item.spec as GrpcRouteSpec) });
  } else if (kind === "ReferenceGrant") index.referenceGrants.push(item as Indexed<ReferenceGrantSpec>);
  else if (kind === "TCPRoute") index.tcpRoutes.push(item as Indexed<TcpRouteSpec>);
  else if (kind === "TLSRoute") index.tlsRoutes.push(item as Indexed<TlsRouteSpec>);
}

/** Sorts routes by the Gateway API tie-break: creation time, then `namespace/name`. */
export function finishGatewayApiIndex(index: GatewayApiIndex): void {
  const order = (a: Indexed<unknown>, b: Indexed<unknown>) =>
    compare(a.created, b.created) || compare(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`);
  index.httpRoutes.sort(order);
  index.tcpRoutes.sort(order);
  index.tlsRoutes.sort(order);
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
  if (resource.kind !== "HTTPRoute" && resource.kind !== "GRPCRoute") return ["gwapi:*"];
  const spec = resource.spec as Pick<HttpRouteApiSpec, "parentRefs">;
  const { namespace } = resource.metadata;
  const services = (spec.parentRefs ?? [])
    .filter(isServiceParent)
    .map((p) => `vs:${serviceFqdn(p.name, p.namespace ?? namespace, suffix)}`);
  return ["gwapi:*", ...services];
}

/** The kind of an indexed route (`HTTPRoute` or `GRPCRoute`), from its `ref`. */
export function routeKind(route: Indexed<unknown>): string {
  return route.ref.slice(0, route.ref.indexOf("/"));
}

/**
 * Whether a ReferenceGrant in `toNamespace` lets a route of `routeKind` (HTTPRoute by default) in
 * `fromNamespace` refer to the Service `name` there (a grant `to` entry without a name covers
 * every Service).
 */
export function isReferenceGranted(
  index: GatewayApiIndex,
  fromNamespace: string,
  toNamespace: string,
  name: string,
  kind = "HTTPRoute",
): boolean {
  return index.referenceGrants.some(
    (grant) =>
      grant.namespace === toNamespace &&
      grant.spec.from.some(
        (f) => f.group === "gateway.networking.k8s.io" && f.kind === kind && f.namespace === fromNamespace,
      ) &&
      grant.spec.to.some(
        (t) =>
          (t.group === "" || t.group === "core") &&
          t.kind === "Service" &&
          (t.name === undefined || t.name === name),
      ),
  );
}
