import { describe, expect, it } from "vitest";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { decideRoute, type RequestFacts } from "./decide-route.ts";
import { backend, backendOf, gatewayTable, httpRoute } from "./gateway-api-fixtures.ts";

/**
 * Mesh (GAMMA) HTTPRoutes, after kubernetes-sigs/gateway-api `conformance/tests/mesh/`: a route
 * whose parentRef is a Service applies to traffic sidecars send to that Service. Shared by Node
 * and workerd.
 */

const MESH = "gateway-conformance-mesh";
const client = (namespace = MESH): ProxyIdentity => ({
  id: `sidecar~client~${namespace}`,
  role: "sidecar",
  namespace,
  labels: { app: "client" },
});
const call = (authority: string, path = "/", headers: Record<string, string> = {}): RequestFacts => ({
  authority,
  path,
  method: "GET",
  scheme: "http",
  headers,
});
const services = () => [
  ...backend("echo", 18080, MESH),
  ...backend("echo-v1", 18081, MESH),
  ...backend("echo-v2", 18082, MESH),
];
const meshRoute = (name: string, rules: object[], opts: { namespace?: string; port?: number } = {}) =>
  httpRoute(
    name,
    {
      parentRefs: [
        {
          group: "",
          kind: "Service",
          name: "echo",
          namespace: MESH,
          ...(opts.port ? { port: opts.port } : {}),
        },
      ],
      rules,
    },
    { namespace: opts.namespace ?? MESH },
  );
const to = (name: string, extra: object = {}) => ({ name, namespace: MESH, port: 8080, ...extra });

export function defineGatewayApiMeshCases(): void {
  describe("Gateway API mesh (GAMMA) routes", () => {
    it("route traffic addressed to the parent Service (MeshSplit, MeshBasic)", () => {
      const { table, diagnostics } = gatewayTable(
        [
          ...services(),
          meshRoute(
            "split",
            [
              { matches: [{ path: { type: "Exact", value: "/v1" } }], backendRefs: [to("echo-v1")] },
              { matches: [{ path: { type: "Exact", value: "/v2" } }], backendRefs: [to("echo-v2")] },
            ],
            { port: 8080 },
          ),
        ],
        client(),
      );
      expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      expect(
        backendOf(
          decideRoute(table, call("echo:8080", "/v1"), Math.random).kind === "forward"
            ? (decideRoute(table, call("echo:8080", "/v1"), Math.random) as { cluster: { name: string } })
                .cluster.name
            : "",
        ),
      ).toBe("echo-v1");
      const v2 = decideRoute(table, call(`echo.${MESH}.svc.cluster.local:8080`, "/v2"), Math.random);
      expect(v2.kind === "forward" && backendOf(v2.cluster.name)).toBe("echo-v2");
      expect(decideRoute(table, call("echo:8080", "/other"), Math.random).kind).toBe("noRoute");
      const direct = decideRoute(table, call("echo-v1:8080", "/other"), Math.random);
      expect(direct.kind === "forward" && backendOf(direct.cluster.name)).toBe("echo-v1");
    });

    it("a consumer route in the client's namespace wins over the producer's for that client only", () => {
      const docs = [
        ...services(),
        meshRoute("producer", [{ backendRefs: [to("echo-v1")] }]),
        meshRoute("consumer", [{ backendRefs: [to("echo-v2")] }], { namespace: "consumer-ns" }),
        {
          apiVersion: "gateway.networking.k8s.io/v1beta1",
          kind: "ReferenceGrant",
          metadata: { name: "consumers", namespace: MESH },
          spec: {
            from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "consumer-ns" }],
            to: [{ group: "", kind: "Service" }],
          },
        },
      ];
      const pick = (proxy: ProxyIdentity) => {
        const d = decideRoute(gatewayTable(docs, proxy).table, call(`echo.${MESH}:8080`), Math.random);
        return d.kind === "forward" ? backendOf(d.cluster.name) : d.kind;
      };
      expect(pick(client("consumer-ns"))).toBe("echo-v2");
      expect(pick(client(MESH))).toBe("echo-v1");
      expect(pick(client("elsewhere"))).toBe("echo-v1");
    });
  });
}
