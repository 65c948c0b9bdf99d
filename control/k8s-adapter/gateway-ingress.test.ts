import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../broker/nats-connection.ts";
import type { KubeObject } from "../../test/k8s-apiserver/object-store.ts";
import { useTestNats } from "../../test/support/nats.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { startTestCluster, type TestCluster } from "./test-cluster.ts";

const server = useTestNats();
let nc: NatsConnection;
let cluster: TestCluster;

beforeAll(async () => {
  nc = await connectNats(server().url);
  cluster = await startTestCluster(nc);
});

afterAll(async () => {
  await cluster?.stop();
  await nc?.close();
});

const ingress = (name: string, opts: { className?: string; annotationClass?: string }): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: {
    name,
    namespace: "default",
    ...(opts.annotationClass ? { annotations: { "kubernetes.io/ingress.class": opts.annotationClass } } : {}),
  },
  spec: {
    ...(opts.className ? { ingressClassName: opts.className } : {}),
    rules: [
      {
        host: "bookinfo.example.com",
        http: {
          paths: [
            {
              path: "/productpage",
              pathType: "Prefix",
              backend: { service: { name: "productpage", port: { number: 9080 } } },
            },
          ],
        },
      },
    ],
  },
});

/** Names of the mesh's resources of one kind (what the control plane stores and publishes). */
async function meshNames(kind: string): Promise<string[]> {
  await cluster.adapter.idle();
  return (await cluster.plane.list())
    .filter((v) => v.ref.kind === kind)
    .map((v) => v.ref.name)
    .sort();
}

describe("the adapter's Ingress and Gateway API coverage", () => {
  it("publishes Ingresses of class jibe (field or annotation) only, and follows class changes", async () => {
    cluster.api.apply(ingress("ours", { className: "jibe" }));
    cluster.api.apply(ingress("ours-annotated", { annotationClass: "jibe" }));
    cluster.api.apply(ingress("nginx", { className: "nginx" }));
    await waitFor(async () => (await meshNames("Ingress")).length === 2, { what: "two Ingresses" });
    expect(await meshNames("Ingress")).toEqual(["ours", "ours-annotated"]);

    cluster.api.apply(ingress("nginx", { className: "jibe" }));
    await waitFor(async () => (await meshNames("Ingress")).includes("nginx"), {
      what: "class change to jibe",
    });
    cluster.api.apply(ingress("ours", { className: "nginx" }));
    await waitFor(async () => !(await meshNames("Ingress")).includes("ours"), { what: "class change away" });
    expect(await meshNames("Ingress")).toEqual(["nginx", "ours-annotated"]);
  });

  it("publishes Gateway API Gateways, HTTPRoutes and ReferenceGrants", async () => {
    const gatewayApi = "gateway.networking.k8s.io";
    cluster.api.apply({
      apiVersion: `${gatewayApi}/v1`,
      kind: "Gateway",
      metadata: { name: "web", namespace: "default" },
      spec: { gatewayClassName: "jibe", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    });
    cluster.api.apply({
      apiVersion: `${gatewayApi}/v1`,
      kind: "HTTPRoute",
      metadata: { name: "bookinfo", namespace: "default" },
      spec: {
        parentRefs: [{ name: "web" }],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/productpage" } }],
            backendRefs: [{ name: "productpage", port: 9080 }],
          },
        ],
      },
    });
    cluster.api.apply({
      apiVersion: `${gatewayApi}/v1beta1`,
      kind: "ReferenceGrant",
      metadata: { name: "from-web", namespace: "default" },
      spec: {
        from: [{ group: gatewayApi, kind: "HTTPRoute", namespace: "apps" }],
        to: [{ group: "", kind: "Service" }],
      },
    });
    await waitFor(async () => (await meshNames("ReferenceGrant")).length === 1, { what: "ReferenceGrant" });
    expect(await meshNames("KubernetesGateway")).toEqual(["web"]);
    expect(await meshNames("HTTPRoute")).toEqual(["bookinfo"]);
    cluster.api.remove(`${gatewayApi}/v1`, "HTTPRoute", "default", "bookinfo");
    await waitFor(async () => (await meshNames("HTTPRoute")).length === 0, { what: "HTTPRoute deleted" });
  });

  it("keeps namespace labels for the injector", async () => {
    cluster.api.apply({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "shop", labels: { "jibe-injection": "enabled" } },
    });
    await waitFor(() => cluster.adapter.namespaceLabels("shop")?.["jibe-injection"] === "enabled", {
      what: "namespace in the cache",
    });
    expect(cluster.adapter.namespaceLabels("nowhere")).toBeUndefined();
  });
});
