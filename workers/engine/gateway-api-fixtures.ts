import type { StoredResource } from "../../broker/events.ts";
import { compile } from "../../control/compile/compile.ts";
import type { Diagnostic, ProxyIdentity } from "../../control/compile/snapshot.ts";
import { validateDocuments } from "../../control/model/validate.ts";
import { buildRouteTable, type RouteTable } from "./route-table.ts";

/**
 * The Gateway API conformance set-up, as plain documents (pure, so the shared suite runs in
 * workerd too): namespace `gateway-conformance-infra` with the Gateway `same-namespace` (one HTTP
 * listener on port 80, routes from the same namespace) and Services `infra-backend-v1..v3` on
 * port 8080, each with one WorkloadEntry.
 */

export const INFRA = "gateway-conformance-infra";
export const GATEWAY_API = "gateway.networking.k8s.io/v1";

/** A user-written Gateway API Gateway (`kind: Gateway`, stored as KubernetesGateway). */
export function k8sGateway(name: string, listeners: object[], namespace = INFRA): object {
  return {
    apiVersion: GATEWAY_API,
    kind: "Gateway",
    metadata: { name, namespace },
    spec: { gatewayClassName: "jibe", listeners },
  };
}

/** An HTTPRoute attached to `same-namespace` unless `spec.parentRefs` says otherwise. */
export function httpRoute(
  name: string,
  spec: Record<string, unknown>,
  opts: { namespace?: string; created?: string } = {},
): object {
  return {
    apiVersion: GATEWAY_API,
    kind: "HTTPRoute",
    metadata: {
      name,
      namespace: opts.namespace ?? INFRA,
      ...(opts.created ? { creationTimestamp: opts.created } : {}),
    },
    spec: { parentRefs: [{ name: "same-namespace" }], ...spec },
  };
}

/** A Service on port 8080 with one WorkloadEntry listening on `endpointPort`. */
export function backend(name: string, endpointPort: number, namespace = INFRA): object[] {
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace },
      spec: { selector: { app: name }, ports: [{ name: "http", port: 8080 }] },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "WorkloadEntry",
      metadata: { name, namespace },
      spec: { address: "127.0.0.1", labels: { app: name }, ports: { http: endpointPort } },
    },
  ];
}

/** The conformance infrastructure: Gateway `same-namespace` and backends v1, v2, v3. */
export function conformanceInfra(): object[] {
  return [
    k8sGateway("same-namespace", [
      { name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "Same" } } },
    ]),
    ...backend("infra-backend-v1", 18081),
    ...backend("infra-backend-v2", 18082),
    ...backend("infra-backend-v3", 18083),
  ];
}

/** The gateway proxy implementing `same-namespace`. */
export const conformanceGateway: ProxyIdentity = {
  id: "gateway~conformance",
  role: "gateway",
  namespace: INFRA,
  labels: { app: "gateway" },
  gateways: [`${INFRA}/same-namespace`],
};

/** Validates documents as `jibe apply` does; throws on the first validation error. */
export function validated(documents: readonly object[]): StoredResource[] {
  const { resources, diagnostics } = validateDocuments(documents);
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`invalid test resources: ${JSON.stringify(errors, null, 1)}`);
  return resources;
}

/** Validates and compiles documents for `proxy`: the route table and the compile diagnostics. */
export function gatewayTable(
  documents: readonly object[],
  proxy: ProxyIdentity = conformanceGateway,
): { table: RouteTable; diagnostics: Diagnostic[] } {
  const { snapshot, diagnostics } = compile(validated(documents), proxy);
  return { table: buildRouteTable(snapshot), diagnostics };
}

/** The backend Service a cluster name points at (`outbound|8080||infra-backend-v1.<ns>...` → `infra-backend-v1`). */
export function backendOf(cluster: string): string {
  const fqdn = cluster.split("|")[3] ?? "";
  return fqdn.split(".")[0] ?? "";
}
