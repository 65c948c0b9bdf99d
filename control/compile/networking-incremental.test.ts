import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { compile } from "./compile.ts";
import { createIncrementalCompiler } from "./incremental.ts";
import type { ProxyIdentity } from "./snapshot.ts";
import { bookinfoMesh, resourceMap, sidecar, virtualService } from "./test-resources.ts";

const ISTIO = "networking.istio.io/v1";
const res = (kind: string, name: string, spec: unknown, apiVersion = ISTIO): StoredResource => ({
  apiVersion,
  kind,
  metadata: { name, namespace: "default" },
  spec,
});
const edge: ProxyIdentity = {
  id: "edge~t",
  role: "gateway",
  namespace: "default",
  labels: { istio: "ingressgateway" },
  gateways: [],
};

/** Applies changes one by one to an incremental compiler and checks each step against a full compile. */
function replay(proxy: ProxyIdentity, steps: { put?: StoredResource[]; del?: string[] }[]): void {
  const compiler = createIncrementalCompiler(proxy);
  const resources = resourceMap(bookinfoMesh());
  compiler.update({ resources, changed: new Set(resources.keys()), revision: 0 });
  steps.forEach((step, i) => {
    const changed = new Set<string>();
    for (const r of step.put ?? []) {
      const key = `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
      resources.set(key, r);
      changed.add(key);
    }
    for (const key of step.del ?? []) {
      resources.delete(key);
      changed.add(key);
    }
    const result = compiler.update({ resources, changed, revision: i + 1 });
    const full = compile(resources.values(), proxy, i + 1);
    expect(result.snapshot, `step ${i}`).toEqual(full.snapshot);
  });
}

describe("incremental compile of ServiceEntry, Sidecar, Gateway and Ingress changes", () => {
  it("sidecar: entries, Sidecar scoping and the mesh config take effect on each change", () => {
    const entry = (port: number) =>
      res("ServiceEntry", "api", {
        hosts: ["api.example.com"],
        ports: [{ number: port, name: "http" }],
        resolution: "DNS",
      });
    replay(sidecar(), [
      { put: [entry(80)] },
      { put: [entry(8080)] },
      { put: [res("Sidecar", "default", { egress: [{ hosts: ["./api.example.com"] }] })] },
      {
        put: [
          res("Sidecar", "default", {
            egress: [{ hosts: ["./*"] }],
            outboundTrafficPolicy: { mode: "ALLOW_ANY" },
          }),
        ],
      },
      {
        put: [
          {
            ...res("ConfigMap", "istio", { mesh: "outboundTrafficPolicy: {mode: REGISTRY_ONLY}" }, "v1"),
            metadata: { name: "istio", namespace: "istio-system" },
          },
        ],
      },
      { del: ["Sidecar/default/default"] },
      {
        put: [
          {
            ...virtualService("reviews-ext", {
              hosts: ["reviews.default.svc.cluster.local"],
              http: [{ directResponse: { status: 204 } }],
            }),
            metadata: { name: "reviews-ext", namespace: "other" },
          },
        ],
      },
      { put: [res("Sidecar", "default", { egress: [{ hosts: ["./*"] }] })] },
      { del: ["Sidecar/default/default"] },
      { del: ["ServiceEntry/default/api"] },
    ]);
  });

  it("gateway: Gateway hosts and Ingress rules take effect on each change", () => {
    const gw = (hosts: string[]) =>
      res("Gateway", "public", {
        selector: { istio: "ingressgateway" },
        servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts }],
      });
    const ingress = (path: string) =>
      res(
        "Ingress",
        "web",
        {
          ingressClassName: "jibe",
          rules: [
            {
              host: "web.example.com",
              http: {
                paths: [
                  {
                    path,
                    pathType: "Prefix",
                    backend: { service: { name: "details", port: { number: 9080 } } },
                  },
                ],
              },
            },
          ],
        },
        "networking.k8s.io/v1",
      );
    replay(edge, [
      {
        put: [
          virtualService("shop", {
            hosts: ["*"],
            gateways: ["public"],
            http: [{ route: [{ destination: { host: "productpage" } }] }],
          }),
        ],
      },
      { put: [gw(["shop.example.com"])] },
      { put: [gw(["other.example.com"])] },
      { put: [ingress("/a")] },
      { put: [ingress("/b")] },
      { del: ["Gateway/default/public", "Ingress/default/web"] },
    ]);
  });
});
