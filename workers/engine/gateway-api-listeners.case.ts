import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../control/compile/snapshot.ts";
import { decideRoute, type RequestFacts } from "./decide-route.ts";
import {
  backend,
  backendOf,
  GATEWAY_API,
  gatewayTable,
  httpRoute,
  INFRA,
  k8sGateway,
} from "./gateway-api-fixtures.ts";

/**
 * Listener `allowedRoutes` after kubernetes-sigs/gateway-api `conformance/tests/
 * gateway-http-listener-isolation`, `httproute-cross-namespace` and the `from: Selector` cases:
 * which namespaces (Same, All, a label Selector over Namespace labels) and which route kinds may
 * attach through a listener. Shared by Node and workerd.
 */

const namespace = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});

const grpcRoute = (name: string, ns: string, backendName: string) => ({
  apiVersion: GATEWAY_API,
  kind: "GRPCRoute",
  metadata: { name, namespace: ns },
  spec: {
    parentRefs: [{ name: "shared", namespace: INFRA }],
    rules: [{ backendRefs: [{ name: backendName, namespace: ns, port: 8080 }] }],
  },
});

/** An HTTPRoute in `ns` for `/<ns>` to that namespace's backend, attached to the `shared` Gateway. */
const routeFrom = (ns: string) =>
  httpRoute(
    `from-${ns}`,
    {
      parentRefs: [{ name: "shared", namespace: INFRA }],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: `/${ns}` } }],
          backendRefs: [{ name: `web-${ns}`, namespace: ns, port: 8080 }],
        },
      ],
    },
    { namespace: ns },
  );

const TEAMS = ["team-a", "team-b", "team-c"];
const teamBackends = () => TEAMS.flatMap((ns, i) => backend(`web-${ns}`, 18090 + i, ns));
const shared = (allowedRoutes: object) =>
  k8sGateway("shared", [{ name: "http", port: 80, protocol: "HTTP", allowedRoutes }]);
const proxy = {
  id: "gateway~shared",
  role: "gateway" as const,
  namespace: INFRA,
  labels: {},
  gateways: [`${INFRA}/shared`],
};

const req = (path: string): RequestFacts => ({
  authority: "any.example",
  path,
  method: "GET",
  scheme: "http",
  headers: {},
});

/** The namespaces whose routes answer (by backend) and the routes refused, with the reason named. */
function attached(documents: object[]): { served: string[]; refused: string[] } {
  const { table, diagnostics } = gatewayTable(documents, proxy);
  const served = TEAMS.filter((ns) => {
    const d = decideRoute(table, req(`/${ns}`), Math.random);
    return d.kind === "forward" && backendOf(d.cluster.name) === `web-${ns}`;
  });
  const refused = diagnostics
    .filter((d: Diagnostic) => d.code === "JIBE2060")
    .map((d) => `${d.resource} ${/\((\w+)\)/.exec(d.message)?.[1] ?? d.message}`);
  return { served, refused };
}

export function defineGatewayApiListenerCases(): void {
  describe("Gateway API listeners: allowedRoutes.namespaces", () => {
    const labelled = [
      namespace("team-a", { shared: "yes", env: "prod" }),
      namespace("team-b", { shared: "yes", env: "dev" }),
      namespace("team-c"),
    ];
    const routes = () => [...teamBackends(), ...TEAMS.map(routeFrom)];

    it("from: Selector attaches routes from namespaces whose labels match matchLabels", () => {
      expect(
        attached([
          ...labelled,
          ...routes(),
          shared({ namespaces: { from: "Selector", selector: { matchLabels: { shared: "yes" } } } }),
        ]),
      ).toEqual({
        served: ["team-a", "team-b"],
        refused: ["HTTPRoute/team-c/from-team-c NotAllowedByListeners"],
      });
    });

    it("from: Selector with matchExpressions (In, NotIn, Exists, DoesNotExist)", () => {
      const select = (matchExpressions: object[]) =>
        attached([
          ...labelled,
          ...routes(),
          shared({ namespaces: { from: "Selector", selector: { matchExpressions } } }),
        ]).served;
      expect(select([{ key: "env", operator: "In", values: ["prod", "staging"] }])).toEqual(["team-a"]);
      expect(select([{ key: "env", operator: "NotIn", values: ["prod"] }])).toEqual(["team-b", "team-c"]);
      expect(select([{ key: "shared", operator: "Exists" }])).toEqual(["team-a", "team-b"]);
      expect(select([{ key: "shared", operator: "DoesNotExist" }])).toEqual(["team-c"]);
      expect(
        select([
          { key: "shared", operator: "Exists" },
          { key: "env", operator: "NotIn", values: ["prod"] },
        ]),
      ).toEqual(["team-b"]);
    });

    it("selects by kubernetes.io/metadata.name even without a Namespace resource", () => {
      const selector = { matchLabels: { "kubernetes.io/metadata.name": "team-c" } };
      expect(attached([...routes(), shared({ namespaces: { from: "Selector", selector } })]).served).toEqual([
        "team-c",
      ]);
    });

    it("follows Namespace labels: relabelling a namespace attaches its routes", () => {
      const gateway = shared({
        namespaces: { from: "Selector", selector: { matchLabels: { shared: "yes" } } },
      });
      expect(attached([namespace("team-c"), ...routes(), gateway]).served).toEqual([]);
      expect(attached([namespace("team-c", { shared: "yes" }), ...routes(), gateway]).served).toEqual([
        "team-c",
      ]);
    });

    it("Same admits only the Gateway's namespace; All admits every namespace", () => {
      expect(attached([...routes(), shared({ namespaces: { from: "Same" } })]).served).toEqual([]);
      expect(attached([...routes(), shared({ namespaces: { from: "All" } })]).served).toEqual(TEAMS);
    });
  });

  describe("Gateway API listeners: allowedRoutes.kinds", () => {
    it("a listener that allows only GRPCRoutes refuses HTTPRoutes (NotAllowedByListeners)", () => {
      const { refused } = attached([
        ...teamBackends(),
        routeFrom("team-a"),
        grpcRoute("grpc", "team-a", "web-team-a"),
        shared({ namespaces: { from: "All" }, kinds: [{ kind: "GRPCRoute" }] }),
      ]);
      expect(refused).toEqual(["HTTPRoute/team-a/from-team-a NotAllowedByListeners"]);
    });

    it("by default an HTTP listener takes both HTTPRoutes and GRPCRoutes", () => {
      const web = routeFrom("team-a") as { spec: object };
      const grpc = grpcRoute("grpc", "team-a", "web-team-a");
      const { refused } = attached([
        ...teamBackends(),
        { ...web, spec: { ...web.spec, hostnames: ["web.example"] } },
        { ...grpc, spec: { ...grpc.spec, hostnames: ["grpc.example"] } },
        shared({ namespaces: { from: "All" } }),
      ]);
      expect(refused).toEqual([]);
    });
  });
}
