import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdmissionReviewResponse } from "./admission-review.ts";
import type { Pod } from "./pod.ts";
import { applyJsonPatch } from "./testing/apply-json-patch.ts";
import { type InjectionWebhook, startInjectionWebhook } from "./webhook-server.ts";

const NAMESPACES: Record<string, Record<string, string>> = {
  shop: { "jibe-injection": "enabled" },
  plain: {},
};

let webhook: InjectionWebhook;
beforeAll(async () => {
  webhook = await startInjectionWebhook({
    injection: { kubernetesVersion: "1.30", proxyImage: "ghcr.io/jibe/proxy:0.1.0" },
    lookupNamespace: async (name) => {
      if (name === "broken") throw new Error("informer not synced");
      return NAMESPACES[name];
    },
  });
});
afterAll(() => webhook.stop());

/** POSTs over real HTTPS, trusting only the webhook's certificate (what caBundle does). */
function post(path: string, body: string): Promise<{ status: number; json: unknown }> {
  const url = new URL(path, webhook.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        ca: webhook.certPem,
        servername: "localhost",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8");
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function review(namespace: string, object: unknown, kind = "Pod", operation = "CREATE"): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `uid-${namespace}`,
      kind: { group: "", version: "v1", kind },
      namespace,
      operation,
      object,
    },
  });
}

const pod = (annotations: Record<string, string> = {}): Pod => ({
  metadata: { name: "details-v1", annotations },
  spec: { containers: [{ name: "details", readinessProbe: { httpGet: { path: "/ready", port: 9080 } } }] },
});

function patched(original: Pod, answer: AdmissionReviewResponse): Pod {
  const patch = JSON.parse(Buffer.from(answer.response.patch ?? "W10=", "base64").toString("utf8"));
  return applyJsonPatch(original, patch) as Pod;
}

describe("the injection webhook over HTTPS", () => {
  it("answers an AdmissionReview with a JSON patch that injects the proxy", async () => {
    const { status, json } = await post("/inject", review("shop", pod()));
    const answer = json as AdmissionReviewResponse;
    expect(status).toBe(200);
    expect(answer).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" });
    expect(answer.response).toMatchObject({ uid: "uid-shop", allowed: true, patchType: "JSONPatch" });
    const injected = patched(pod(), answer);
    expect(injected.spec?.initContainers?.map((c) => c.name)).toEqual(["jibe-init", "jibe-proxy"]);
    expect(injected.spec?.containers?.[0]?.readinessProbe?.httpGet?.path).toBe("/app-health/details/readyz");
  });

  it("allows pods in namespaces not enabled (or unknown) unchanged", async () => {
    for (const ns of ["plain", "unknown"]) {
      const answer = (await post("/inject", review(ns, pod()))).json as AdmissionReviewResponse;
      expect(answer.response).toEqual({ uid: `uid-${ns}`, allowed: true });
    }
  });

  it("allows what is not a Pod CREATE unchanged", async () => {
    const answer = (await post("/inject", review("shop", pod(), "Pod", "UPDATE")))
      .json as AdmissionReviewResponse;
    expect(answer.response).toEqual({ uid: "uid-shop", allowed: true });
  });

  it("denies a pod whose capture annotations are wrong, saying which and how to fix it", async () => {
    const bad = pod({ "traffic.sidecar.istio.io/excludeOutboundIPRanges": "everything" });
    const answer = (await post("/inject", review("shop", bad))).json as AdmissionReviewResponse;
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status?.code).toBe(400);
    expect(answer.response.status?.message).toMatch(
      /excludeOutboundIPRanges.*"everything" is not an IPv4 CIDR/,
    );
  });

  it("rejects bodies that are not AdmissionReviews with 400, and fails with 500 when namespaces are unknowable", async () => {
    expect((await post("/inject", "not json")).status).toBe(400);
    const wrong = await post("/inject", JSON.stringify({ apiVersion: "v1", kind: "Pod" }));
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(wrong.json)).toMatch(/apiVersion/);
    expect((await post("/inject", review("broken", pod()))).status).toBe(500);
    expect((await post("/nope", "{}")).status).toBe(404);
  });
});
