import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseDocuments } from "./parse.ts";
import { validateDocuments } from "./validate.ts";

// Istio's bookinfo Gateway API samples, read from the shared folder beside the repo (never copied).
const SAMPLES = fileURLToPath(
  new URL("../../../shared/conformance/istio-samples/bookinfo/gateway-api/", import.meta.url),
);
if (!existsSync(SAMPLES)) {
  throw new Error(
    `Istio bookinfo samples not found at ${SAMPLES}; the shared/ folder must sit beside the repository`,
  );
}
const files = readdirSync(SAMPLES).filter((f) => f.endsWith(".yaml"));

describe("Istio bookinfo Gateway API samples", () => {
  it("are all present", () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  it.each(files)("%s validates without diagnostics", (file) => {
    const { documents, diagnostics: parseDiagnostics } = parseDocuments(
      readFileSync(SAMPLES + file, "utf8"),
      file,
    );
    expect(parseDiagnostics).toEqual([]);
    const { resources, diagnostics } = validateDocuments(documents);
    expect(diagnostics).toEqual([]);
    expect(resources).toHaveLength(documents.length);
  });

  it("stores the Gateway API Gateway as KubernetesGateway, HTTPRoutes as HTTPRoute", () => {
    const { documents } = parseDocuments(readFileSync(`${SAMPLES}bookinfo-gateway.yaml`, "utf8"));
    expect(validateDocuments(documents).resources.map((r) => `${r.apiVersion} ${r.kind}`)).toEqual([
      "gateway.networking.k8s.io/v1 KubernetesGateway",
      "gateway.networking.k8s.io/v1 HTTPRoute",
    ]);
  });
});
