import { describe, expect, it } from "vitest";
import { readAppMetricsEnv } from "../../workers/sidecar/app-metrics.ts";
import { computeInjectionPatch } from "./inject-pod.ts";
import type { Container, Pod } from "./pod.ts";
import { PROXY_CONTAINER_NAME } from "./sidecar-containers.ts";
import { applyJsonPatch } from "./testing/apply-json-patch.ts";

function injected(annotations: Record<string, string>): Pod {
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "shop-1", labels: { app: "shop" }, annotations },
    spec: { containers: [{ name: "shop", image: "shop:1" }] },
  };
  const result = computeInjectionPatch(
    pod,
    { name: "shop", labels: { "jibe-injection": "enabled" } },
    { kubernetesVersion: "1.30", proxyImage: "ghcr.io/jibe/proxy:0.1.0" },
  );
  if (!result.injected) throw new Error(result.reason);
  return applyJsonPatch(pod, result.patch) as Pod;
}

function proxyEnv(pod: Pod): Record<string, string | undefined> {
  const proxy = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
    (c: Container) => c.name === PROXY_CONTAINER_NAME,
  );
  const env = (proxy?.env ?? []) as { name: string; value?: string }[];
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}

describe("metrics merging at injection (Istio's prometheus.io rewrite)", () => {
  it("points Prometheus at the proxy's status port and tells the proxy where the app's metrics are", () => {
    const pod = injected({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "9090",
      "prometheus.io/path": "/custom",
    });
    expect(pod.metadata?.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "15020",
      "prometheus.io/path": "/stats/prometheus",
    });
    // What the injected proxy will read at start: the app's original endpoint.
    expect(readAppMetricsEnv(proxyEnv(pod))).toEqual({ port: 9090, path: "/custom" });
  });

  it("leaves pods alone that do not ask to be scraped or opt out of merging", () => {
    const cases: Record<string, string>[] = [
      {},
      { "prometheus.io/scrape": "false", "prometheus.io/port": "9090" },
      {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9090",
        "prometheus.istio.io/merge-metrics": "false",
      },
    ];
    for (const annotations of cases) {
      const pod = injected(annotations);
      expect(pod.metadata?.annotations?.["prometheus.io/port"]).toBe(annotations["prometheus.io/port"]);
      expect(proxyEnv(pod).ISTIO_PROMETHEUS_ANNOTATIONS).toBeUndefined();
    }
  });
});
