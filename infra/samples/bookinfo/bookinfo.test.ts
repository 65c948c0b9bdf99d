import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { silentLogger } from "../../../broker/logger.ts";
import { type Sidecar, startSidecar } from "../../../workers/sidecar/index.ts";
import {
  call,
  freePort,
  service,
  startTestApp,
  startTestMesh,
  type TestMesh,
  waitFor,
  workloadEntry,
} from "../../../workers/sidecar/test-mesh.ts";
import type { BookinfoService } from "./downstream.ts";
import { startSampleService } from "./sample-service.ts";

/**
 * The bookinfo sample end to end: every instance behind its own real sidecar, policy from a real
 * nats-server, resources from this folder's YAML. A client sidecar plays the ingress.
 */

interface Page {
  service: string;
  details: { service?: string; error?: string };
  reviews: {
    service?: string;
    version?: string;
    ratings?: { service?: string; color?: string; error?: string; flags?: string };
  };
}

const WORKLOADS: Array<[BookinfoService, string]> = [
  ["ratings", "v1"],
  ["details", "v1"],
  ["reviews", "v1"],
  ["reviews", "v2"],
  ["reviews", "v3"],
  ["productpage", "v1"],
];

let mesh: TestMesh;
let ingress: Sidecar;
const sidecars = new Map<string, Sidecar>();
const stops: Array<() => Promise<void>> = [];

async function sampleYaml(file: string): Promise<object[]> {
  const text = await readFile(new URL(file, import.meta.url), "utf8");
  return parseAllDocuments(text).map((doc) => doc.toJSON() as object);
}

/** Istio's own bookinfo samples, from the shared conformance folder beside the repository. */
async function conformanceYaml(file: string): Promise<object[]> {
  const docs = await sampleYaml(`../../../../shared/conformance/istio-samples/bookinfo/networking/${file}`);
  return docs.filter((doc) => doc !== null); // a trailing "---" is an empty document
}

async function applyEverywhere(...documents: object[]): Promise<void> {
  const revision = await mesh.apply(...documents);
  const all = [ingress, ...sidecars.values()];
  await waitFor(() => all.every((s) => s.snapshot().revision >= revision), 5_000, `revision ${revision}`);
}

async function page(headers: Record<string, string> = {}): Promise<Page> {
  const answer = await call(ingress.outboundPort, "productpage:9080", "/productpage", { headers });
  expect(answer.status, answer.body).toBe(200);
  return JSON.parse(answer.body) as Page;
}

beforeAll(async () => {
  mesh = await startTestMesh();
  const sidecarOf = (id: string, labels: Record<string, string>, appPort: number, outboundPort = 0) =>
    startSidecar({
      nc: mesh.nc,
      verifier: mesh.verifier,
      proxy: { id: `sidecar~${id}~default`, role: "sidecar", namespace: "default", labels },
      appPort,
      outboundPort,
      log: silentLogger,
    });
  const entries: object[] = [];
  for (const [name, version] of WORKLOADS) {
    // The app needs its sidecar's outbound port and the sidecar the app's port: reserve one first.
    const outboundPort = await freePort();
    const app = await startSampleService({
      service: name,
      version,
      outboundUrl: `http://127.0.0.1:${outboundPort}`,
    });
    const sidecar = await sidecarOf(`${name}-${version}`, { app: name, version }, app.port, outboundPort);
    sidecars.set(`${name}-${version}`, sidecar);
    stops.push(
      () => sidecar.stop(),
      () => app.stop(),
    );
    entries.push(workloadEntry(`${name}-${version}`, { app: name, version }, sidecar.inboundPort));
  }
  const ingressApp = await startTestApp("ingress");
  ingress = await sidecarOf("ingress", { app: "ingress" }, ingressApp.port);
  stops.push(
    () => ingress.stop(),
    () => ingressApp.stop(),
  );
  await applyEverywhere(
    ...["productpage", "details", "reviews", "ratings"].map((name) => service(name)),
    ...entries,
    ...(await sampleYaml("destination-rules.yaml")),
  );
}, 60_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await mesh?.stop();
});

describe("bookinfo behind sidecars", () => {
  it("productpage → details and reviews (balanced over v1, v2, v3) → ratings", async () => {
    const first = await page();
    expect(first.service).toBe("productpage");
    expect(first.details.service).toBe("details");
    const versions = new Set<string>();
    for (let i = 0; i < 30 && versions.size < 3; i++) versions.add((await page()).reviews.version ?? "none");
    expect([...versions].sort()).toEqual(["v1", "v2", "v3"]);
  });

  it("reviews-v3.yaml sends every request to reviews v3, which shows red stars from ratings", async () => {
    await applyEverywhere(...(await sampleYaml("reviews-v3.yaml")));
    for (let i = 0; i < 5; i++) {
      const { reviews } = await page();
      expect(reviews.version).toBe("v3");
      expect(reviews.ratings).toMatchObject({ service: "ratings", color: "red" });
    }
  });

  it("reviews-jason-v2.yaml sends end-user jason to v2 (productpage forwards the header), others to v1", async () => {
    await applyEverywhere(...(await sampleYaml("reviews-jason-v2.yaml")));
    expect((await page({ "end-user": "jason" })).reviews.version).toBe("v2");
    expect((await page()).reviews.version).toBe("v1");
  });

  it("virtual-service-ratings-test-abort: jason's ratings call answers 500 (FI), others see reviews v1", async () => {
    await applyEverywhere(
      ...(await conformanceYaml("virtual-service-all-v1.yaml")),
      ...(await conformanceYaml("virtual-service-reviews-test-v2.yaml")),
      ...(await conformanceYaml("virtual-service-ratings-test-abort.yaml")),
    );
    const { reviews } = await page({ "end-user": "jason" });
    expect(reviews.version).toBe("v2");
    expect(reviews.ratings).toMatchObject({ error: "ratings unavailable", status: 500, flags: "FI" });
    const other = await page();
    expect(other.reviews.version).toBe("v1");
  });

  it("virtual-service-ratings-test-delay (0.3 s here instead of 7 s) delays only jason's ratings call", async () => {
    const [delay] = await conformanceYaml("virtual-service-ratings-test-delay.yaml");
    const short = JSON.parse(
      JSON.stringify(delay).replace('"fixedDelay":"7s"', '"fixedDelay":"0.3s"'),
    ) as object;
    expect(JSON.stringify(short)).toContain('"0.3s"');
    await applyEverywhere(short);
    let started = performance.now();
    const { reviews } = await page({ "end-user": "jason" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(reviews.ratings).toMatchObject({ service: "ratings" });
    started = performance.now();
    await page();
    expect(performance.now() - started).toBeLessThan(290);
  });

  it("fault-injection-details-v1 aborts every details call with 555 (FI); the page degrades", async () => {
    await applyEverywhere(...(await conformanceYaml("fault-injection-details-v1.yaml")));
    const { details } = (await page()) as Page & { details: { status?: number; flags?: string } };
    expect(details).toMatchObject({ error: "details unavailable", status: 555, flags: "FI" });
    // Back to the routing the tests below expect.
    await applyEverywhere(
      ...(await conformanceYaml("virtual-service-all-v1.yaml")),
      ...(await sampleYaml("reviews-jason-v2.yaml")),
    );
    expect((await page()).details.service).toBe("details");
  });

  it("a ratings outage degrades the page (flag shown) instead of failing it", async () => {
    await sidecars.get("ratings-v1")?.stop();
    const { reviews } = await page({ "end-user": "jason" });
    expect(reviews.version).toBe("v2");
    // Refused connections, retried twice (Istio's default retry policy) before giving up.
    expect(reviews.ratings).toMatchObject({ error: "ratings unavailable", flags: "UF,URX" });
  });
});
