/**
 * The sample mesh `npm start` runs: a bookinfo-like app (productpage → details, reviews v1/v2/v3 →
 * ratings), each instance behind its own sidecar, registered as Service + WorkloadEntry resources.
 */

/** One sample workload instance. */
export interface SampleWorkload {
  service: "productpage" | "details" | "reviews" | "ratings";
  version: string;
}

/** The workloads of the bookinfo sample, in start order (leaves first). */
export const BOOKINFO_WORKLOADS: readonly SampleWorkload[] = [
  { service: "ratings", version: "v1" },
  { service: "details", version: "v1" },
  { service: "reviews", version: "v1" },
  { service: "reviews", version: "v2" },
  { service: "reviews", version: "v3" },
  { service: "productpage", version: "v1" },
];

/** The port every bookinfo Service exposes, as in Istio's sample. */
export const BOOKINFO_SERVICE_PORT = 9080;

/** Name of the gateway the local edge worker implements. */
export const EDGE_GATEWAY = "jibe-edge";

/** Service resources (one per distinct service). */
export function renderServices(namespace: string): object[] {
  const services = [...new Set(BOOKINFO_WORKLOADS.map((w) => w.service))];
  return services.map((name) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: { app: name, service: name } },
    spec: { selector: { app: name }, ports: [{ name: "http", port: BOOKINFO_SERVICE_PORT }] },
  }));
}

/** The WorkloadEntry of one running instance: its address is the sidecar's inbound listener. */
export function renderWorkloadEntry(
  workload: SampleWorkload,
  namespace: string,
  address: string,
  inboundPort: number,
): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "WorkloadEntry",
    metadata: { name: `${workload.service}-${workload.version}`, namespace },
    spec: {
      address,
      // Istio's marker for "a proxy terminates mTLS here": peers' sidecars use auto-mTLS to it.
      labels: { app: workload.service, version: workload.version, "security.istio.io/tlsMode": "istio" },
      ports: { http: inboundPort },
      serviceAccount: `bookinfo-${workload.service}`,
    },
  };
}

/** Istio's bookinfo ingress Gateway (`bookinfo-gateway.yaml`): what the local Node ingress gateway serves. */
export const INGRESS_GATEWAY = "bookinfo-gateway";

/** The Gateway server port of {@link INGRESS_GATEWAY} (Istio's sample listens on 8080). */
export const INGRESS_GATEWAY_PORT = 8080;

/** The labels of the local ingress gateway proxy: the selector of Istio's bookinfo Gateway. */
export const INGRESS_GATEWAY_LABELS = { istio: "ingressgateway" } as const;

/** The Gateway resource of Istio's bookinfo sample: HTTP on 8080 for every host. */
export function renderIngressGateway(namespace: string): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "Gateway",
    metadata: { name: INGRESS_GATEWAY, namespace },
    spec: {
      selector: INGRESS_GATEWAY_LABELS,
      servers: [{ port: { number: INGRESS_GATEWAY_PORT, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
    },
  };
}

/**
 * The edge route: public paths of bookinfo go to productpage (like Istio's bookinfo VirtualService),
 * served by the edge worker and by the Node ingress gateway.
 */
export function renderEdgeRoute(namespace: string): object {
  const prefixes = ["/productpage", "/static", "/login", "/logout", "/api/v1/products"];
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "bookinfo-edge", namespace },
    spec: {
      hosts: ["*"],
      gateways: [EDGE_GATEWAY, INGRESS_GATEWAY],
      http: [
        {
          match: prefixes.map((prefix) =>
            prefix === "/productpage" ? { uri: { exact: prefix } } : { uri: { prefix } },
          ),
          route: [{ destination: { host: "productpage", port: { number: BOOKINFO_SERVICE_PORT } } }],
        },
      ],
    },
  };
}
