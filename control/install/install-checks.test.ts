import { describe, expect, it } from "vitest";
import { checkInstallTarget, parseKubernetesVersion } from "./install-checks.ts";

const ours = { "app.kubernetes.io/part-of": "jibe" };
const role = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRole",
  metadata: { name: "jibe-injector" },
};

describe("install target checks", () => {
  it("reads provider version strings", () => {
    expect(parseKubernetesVersion("v1.29.4-eks-036c24b")).toEqual({ major: 1, minor: 29 });
    expect(parseKubernetesVersion("v1.30.2-gke.1000")).toEqual({ major: 1, minor: 30 });
    expect(parseKubernetesVersion("1.27+")).toEqual({ major: 1, minor: 27 });
    expect(parseKubernetesVersion("latest")).toBeUndefined();
  });

  it("accepts a fresh cluster, or one holding only Jibe's own objects (a re-install)", () => {
    const codes = (found: object | undefined) =>
      checkInstallTarget({
        serverVersion: "v1.27.0",
        existing: [{ wanted: role, found: found as never }],
        webhookConfigurations: [],
        injector: false,
      }).map((p) => p.code);
    expect(codes(undefined)).toEqual([]);
    expect(codes({ ...role, metadata: { name: "jibe-injector", labels: ours } })).toEqual([]);
    expect(codes({ ...role, metadata: { name: "jibe-injector" } })).toEqual(["object-conflict"]);
  });

  it("stops on an old or unknown server version", () => {
    const check = (serverVersion: string) =>
      checkInstallTarget({ serverVersion, existing: [], webhookConfigurations: [], injector: false });
    expect(check("v1.26.9")[0]).toMatchObject({ severity: "error", code: "server-too-old" });
    expect(check("nonsense")[0]).toMatchObject({ severity: "error", code: "server-version-unknown" });
  });

  it("notes another sidecar injector and the webhook's reachability, without stopping", () => {
    const problems = checkInstallTarget({
      serverVersion: "v1.31.0",
      existing: [],
      webhookConfigurations: [
        {
          metadata: { name: "istio-sidecar-injector" },
          webhooks: [{ name: "namespace.sidecar-injector.istio.io" }],
        },
        { metadata: { name: "cert-manager-webhook" }, webhooks: [{ name: "webhook.cert-manager.io" }] },
      ],
      injector: true,
    });
    expect(problems.map((p) => `${p.severity} ${p.code}`)).toEqual([
      "note other-injector",
      "note webhook-reachability",
    ]);
    expect(problems[0]?.message).toMatch(/istio-sidecar-injector also injects sidecars/);
  });
});
