import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApplyOutcome, HistoryItem, ResourceView, ValidationReport } from "../plane/types.ts";
import type { ErrorBody } from "./http-errors.ts";
import {
  type AdminFixture,
  ONE_BAD_OF_THREE,
  RATINGS_SERVICE,
  REVIEWS_RULE,
  REVIEWS_V1,
  REVIEWS_V3,
  startAdminFixture,
} from "./test-fixture.ts";

let fx: AdminFixture;
beforeAll(async () => {
  fx = await startAdminFixture();
});
afterAll(() => fx?.stop());

async function apply(body: string, type = "application/yaml", query = ""): Promise<Response> {
  return fx.api(`/api/v1/apply${query}`, { method: "POST", body, type });
}

async function names(): Promise<string[]> {
  const { items } = (await (await fx.api("/api/v1/resources")).json()) as { items: ResourceView[] };
  return items.map((i) => `${i.ref.kind}/${i.ref.namespace}/${i.ref.name}`);
}

/** Applies a harmless marker and returns the events seen before it: proof of what a failed call did not publish. */
async function eventsBeforeMarker(): Promise<number> {
  const before = fx.events.length;
  const marker = RATINGS_SERVICE.replace("name: ratings", `name: marker-${before}`);
  expect((await apply(marker)).status).toBe(200);
  await fx.waitForEvents(before + 1);
  const last = fx.events.at(-1)!;
  expect(last.ref.name).toBe(`marker-${before}`);
  await fx.api(`/api/v1/resources/svc/bookinfo/marker-${before}`, { method: "DELETE" });
  await fx.waitForEvents(before + 2);
  return before;
}

describe("admin API: apply, get, list, delete", () => {
  it("applies a multi-document YAML body and answers per resource", async () => {
    const res = await apply(`${REVIEWS_RULE}---\n${REVIEWS_V1}`);
    expect(res.status).toBe(200);
    const outcome = (await res.json()) as ApplyOutcome;
    expect(outcome.results.map((r) => [r.ref.kind, r.action])).toEqual([
      ["DestinationRule", "created"],
      ["VirtualService", "created"],
    ]);
    const events = await fx.waitForEvents(2);
    expect(events.map((e) => e.revision)).toEqual(outcome.results.map((r) => r.revision));
  });

  it("reads one resource by kind alias, and lists by kind and namespace", async () => {
    const res = await fx.api("/api/v1/resources/vs/default/reviews");
    expect(res.status).toBe(200);
    const view = (await res.json()) as ResourceView;
    expect(view.resource.spec).toMatchObject({ hosts: ["reviews"] });
    expect(view.resource.metadata.generation).toBe(1);

    const byKind = (await (await fx.api("/api/v1/resources?kind=destinationrules")).json()) as {
      items: ResourceView[];
    };
    expect(byKind.items.map((i) => i.ref.name)).toEqual(["reviews"]);
    const elsewhere = (await (await fx.api("/api/v1/resources?namespace=bookinfo")).json()) as {
      items: ResourceView[];
    };
    expect(elsewhere.items).toEqual([]);
  });

  it("accepts JSON bodies and reports an identical re-apply as unchanged, publishing nothing", async () => {
    const current = ((await (await fx.api("/api/v1/resources/vs/default/reviews")).json()) as ResourceView)
      .resource;
    const res = await apply(JSON.stringify(current), "application/json");
    expect(res.status).toBe(200);
    expect(((await res.json()) as ApplyOutcome).results).toMatchObject([{ action: "unchanged" }]);
    const seen = await eventsBeforeMarker();
    expect(fx.events[seen]!.ref.name).toBe(`marker-${seen}`);
  });

  it("configures a changed resource with a new generation; dryRun writes nothing", async () => {
    const dry = (await (await apply(REVIEWS_V3, "application/yaml", "?dryRun=true")).json()) as ApplyOutcome;
    expect(dry).toMatchObject({ dryRun: true, results: [{ action: "configured", generation: 2 }] });
    const stillV1 = ((await (await fx.api("/api/v1/resources/vs/default/reviews")).json()) as ResourceView)
      .resource;
    expect(JSON.stringify(stillV1.spec)).toContain('"v1"');

    const real = (await (await apply(REVIEWS_V3)).json()) as ApplyOutcome;
    expect(real.results).toMatchObject([{ action: "configured", generation: 2 }]);
  });

  it("shows history oldest first", async () => {
    const res = await fx.api("/api/v1/resources/VirtualService/default/reviews/history");
    const { items } = (await res.json()) as { items: HistoryItem[] };
    expect(items.map((i) => [i.operation, i.resource?.metadata.generation])).toEqual([
      ["PUT", 1],
      ["PUT", 2],
    ]);
  });

  it("deletes, and answers 404 for what is not there", async () => {
    const res = await fx.api("/api/v1/resources/dr/default/reviews", { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ action: "deleted", ref: { kind: "DestinationRule" } });
    for (const [method, path] of [
      ["DELETE", "/api/v1/resources/dr/default/reviews"],
      ["GET", "/api/v1/resources/dr/default/reviews"],
      ["GET", "/api/v1/resources/vs/default/nope/history"],
    ] as const) {
      const missing = await fx.api(path, { method });
      expect(missing.status, `${method} ${path}`).toBe(404);
      expect(((await missing.json()) as ErrorBody).error.code).toBe("not-found");
    }
  });
});

describe("admin API: bad input is refused with field paths and writes nothing", () => {
  const cases: [string, string, RegExp, string][] = [
    ["invalid YAML", "kind: VirtualService\nmetadata: {name: x\n", /YAML syntax error/, "JIBE1001"],
    [
      "an unknown kind",
      "apiVersion: example.com/v1\nkind: Frobnicator\nmetadata: {name: x}\nspec: {}\n",
      /Frobnicator/,
      "JIBE1003",
    ],
    [
      "a field of the wrong type",
      REVIEWS_V1.replace("hosts: [reviews]", "hosts: reviews"),
      /must be a list/,
      "JIBE1010",
    ],
    ["one bad document of three", ONE_BAD_OF_THREE, /must be a list/, "JIBE1010"],
  ];

  it.each(cases)("%s → 400", async (_what, body, message, code) => {
    const before = await names();
    const res = await apply(body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe("invalid");
    expect(error.diagnostics?.some((d) => d.code === code && message.test(d.message))).toBe(true);
    if (code === "JIBE1010")
      expect(error.diagnostics).toContainEqual(expect.objectContaining({ path: "spec.hosts" }));
    expect(await names()).toEqual(before);
    const seen = await eventsBeforeMarker();
    expect(fx.events[seen]!.ref.name).toBe(`marker-${seen}`);
  });

  it("answers 400 for an unknown kind in the path, 415 for other media types, 413 past the size limit", async () => {
    const kind = await fx.api("/api/v1/resources/envoyfilter/default/x");
    expect(kind.status).toBe(400);
    expect(((await kind.json()) as ErrorBody).error.message).toMatch(
      /EnvoyFilter is not supported by Jibe yet/,
    );
    const media = await apply("<xml/>", "application/xml");
    expect(media.status).toBe(415);
    const big = await apply(`# ${"x".repeat(1024 * 1024 + 1)}\n${REVIEWS_V1}`);
    expect(big.status).toBe(413);
    expect(((await big.json()) as ErrorBody).error.code).toBe("payload-too-large");
    const empty = await apply("# nothing here\n");
    expect(empty.status).toBe(400);
  });

  it("validates without writing: 200 with valid=false and every diagnostic", async () => {
    const before = await names();
    const res = await fx.api("/api/v1/validate", {
      method: "POST",
      body: ONE_BAD_OF_THREE,
      type: "application/yaml",
    });
    expect(res.status).toBe(200);
    const report = (await res.json()) as ValidationReport;
    expect(report.valid).toBe(false);
    expect(report.diagnostics).toContainEqual(
      expect.objectContaining({ resource: "VirtualService/default/ratings", path: "spec.hosts" }),
    );
    const ok = (await (
      await fx.api("/api/v1/validate", { method: "POST", body: REVIEWS_RULE, type: "application/yaml" })
    ).json()) as ValidationReport;
    expect(ok).toMatchObject({ valid: true, resources: [{ kind: "DestinationRule", name: "reviews" }] });
    expect(await names()).toEqual(before);
  });

  it("never shows a stack trace, and unknown routes are JSON 404s", async () => {
    const res = await fx.api("/api/v1/nowhere");
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    expect(JSON.parse(text)).toMatchObject({ error: { code: "not-found" } });
  });
});
