import { describe, expect, it } from "vitest";
import { validateResource } from "../model/validate.ts";
import { compile } from "./compile.ts";
import { bookinfoMesh, destinationRule, sidecar, virtualService } from "./test-resources.ts";

const REVIEWS = "reviews.default.svc.cluster.local";
const routesOf = (http: unknown[]) => {
  const result = compile(
    [
      ...bookinfoMesh(),
      destinationRule("reviews", ["v1", "v2"]),
      virtualService("reviews", { hosts: ["reviews"], http }),
    ],
    sidecar(),
  );
  return { ...result, routes: result.snapshot.virtualHosts.find((v) => v.name === REVIEWS)?.routes ?? [] };
};
const toV1 = [{ destination: { host: "reviews", subset: "v1" } }];

describe("compile: route actions", () => {
  it("says when a fault makes the rule's timeout and retries inert", () => {
    const { diagnostics, routes } = routesOf([
      { fault: { delay: { fixedDelay: "1s", percentage: { value: 50 } } }, timeout: "2s", route: toV1 },
    ]);
    expect(diagnostics).toContainEqual(
      expect.objectContaining({ code: "JIBE2013", severity: "warning", path: "spec.http[0].fault" }),
    );
    expect(routes[0]?.fault).toEqual({ delay: { fixedDelayMs: 1000, percentage: 50 } });
  });

  it("turns a Host set by header policy into an authority rewrite, as Istio does", () => {
    const { routes } = routesOf([
      { headers: { request: { set: { Host: "internal", "X-A": "1" } } }, route: toV1 },
    ]);
    expect(routes[0]?.headers).toEqual({ request: { set: { "x-a": "1" } } });
    expect(routes[0]?.action).toMatchObject({ rewrite: { authority: "internal" } });
  });

  it("compiles gRPC aborts by status name, per-destination headers and mirrors to known clusters", () => {
    const { routes, diagnostics } = routesOf([
      {
        fault: { abort: { grpcStatus: "unavailable", percentage: { value: 10 } } },
        route: [{ ...toV1[0], headers: { response: { remove: ["Server"] } } }],
        mirrors: [{ destination: { host: "reviews", subset: "v2" }, percentage: { value: 5 } }],
      },
    ]);
    expect(diagnostics).toEqual([]);
    expect(routes[0]?.fault).toEqual({ abort: { percentage: 10, grpcStatus: 14 } });
    expect(routes[0]?.action).toMatchObject({
      destinations: [
        { cluster: `outbound|9080|v1|${REVIEWS}`, headers: { response: { remove: ["server"] } } },
      ],
      mirrors: [{ cluster: `outbound|9080|v2|${REVIEWS}`, percentage: 5 }],
    });
  });

  it("reports a mirror to an unknown host with its field path", () => {
    const { diagnostics } = routesOf([{ route: toV1, mirror: { host: "nowhere" } }]);
    expect(diagnostics).toContainEqual(
      expect.objectContaining({ code: "JIBE2002", path: "spec.http[0].mirror.host" }),
    );
  });

  it("rejects an unknown gRPC status in an abort fault (validation)", () => {
    const result = validateResource({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "r" },
      spec: {
        hosts: ["r"],
        http: [
          {
            fault: { abort: { grpcStatus: "BROKEN", percentage: { value: 1 } } },
            route: [{ destination: { host: "r" } }],
          },
        ],
      },
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.diagnostics.map((d) => d.path)).toContain(
      "spec.http[0].fault.abort.grpcStatus",
    );
  });
});
