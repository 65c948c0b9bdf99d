import { describe, expect, it } from "vitest";
import { bookinfoMesh, outboundTrafficPolicy, virtualService } from "../../control/compile/test-resources.ts";
import { defineActionCases } from "./actions.case.ts";
import { decideRoute } from "./decide-route.ts";
import { REVIEWS, request, reviewsMesh, split, subsetRoute, tableFor, target } from "./engine-fixtures.ts";
import { decideFault } from "./fault.ts";
import { defineLoadBalancerCases } from "./load-balancer.case.ts";
import { defineMatchCases } from "./match.case.ts";
import { defineRouteOrderCases } from "./route-order.case.ts";
import { defineTrafficPolicyCases } from "./traffic-policy.case.ts";

/**
 * The engine's behaviour, declared once and run in every runtime that hosts the engine: Node
 * (`engine.test.ts`, the sidecar) and workerd (`engine.worker.test.ts`, the edge). Each case
 * compiles real resources with `compile()` and asserts routing decisions.
 */

/** Declares the engine behaviour suite (call inside a test file). */
export function defineEngineSuite(): void {
  describe("engine: routing decisions", () => {
    const jason = tableFor(
      reviewsMesh({
        hosts: ["reviews"],
        http: [
          { match: [{ headers: { "end-user": { exact: "jason" } } }], route: [subsetRoute("v2")] },
          { route: [subsetRoute("v3")] },
        ],
      }),
    );

    it("GET /reviews/0 with end-user: jason goes to reviews v2", () => {
      const decision = decideRoute(
        jason,
        request("reviews:9080", "/reviews/0", { headers: { "end-user": "jason" } }),
        Math.random,
      );
      expect(decision.kind).toBe("forward");
      if (decision.kind !== "forward") return;
      expect(decision.cluster.name).toBe(`outbound|9080|v2|${REVIEWS}`);
      expect(decision.cluster.endpoints.map((e) => e.port)).toEqual([19082]);
      expect(decision.route.origin).toBe("VirtualService/default/reviews#0");
    });

    it("everyone else goes to reviews v3, under every name of the service", () => {
      for (const authority of [
        "reviews",
        "reviews:9080",
        "reviews.default",
        "reviews.default.svc.cluster.local:9080",
        "REVIEWS:9080",
      ]) {
        expect(
          target(
            decideRoute(
              jason,
              request(authority, "/reviews/0", { headers: { "end-user": "alice" } }),
              Math.random,
            ),
          ),
        ).toBe("v3");
      }
    });

    it("splits 80/20 by weight within tolerance (seeded)", () => {
      const table = tableFor(
        reviewsMesh({
          hosts: ["reviews"],
          http: [{ route: [subsetRoute("v1", 80), subsetRoute("v2", 20)] }],
        }),
      );
      const counts = split(table, request("reviews:9080"), 10_000);
      expect((counts.get("v1") ?? 0) / 10_000).toBeCloseTo(0.8, 1);
      expect((counts.get("v2") ?? 0) / 10_000).toBeCloseTo(0.2, 1);
      expect([...counts.keys()].sort()).toEqual(["v1", "v2"]);
    });

    it("treats weights as relative and sends nothing to weight 0", () => {
      const table = tableFor(
        reviewsMesh({
          hosts: ["reviews"],
          http: [{ route: [subsetRoute("v1", 3), subsetRoute("v2", 1), subsetRoute("v3", 0)] }],
        }),
      );
      const counts = split(table, request("reviews"), 8_000);
      expect((counts.get("v1") ?? 0) / 8_000).toBeCloseTo(0.75, 1);
      expect(counts.has("v3")).toBe(false);
    });

    it("passes an unknown authority through (ALLOW_ANY); a known host's unmatched path is noRoute", () => {
      const mesh = reviewsMesh({
        hosts: ["reviews"],
        http: [{ match: [{ uri: { prefix: "/reviews" } }], route: [subsetRoute("v1")] }],
      });
      const table = tableFor(mesh);
      expect(decideRoute(table, request("unknown:80"), Math.random)).toMatchObject({
        kind: "forward",
        cluster: { name: "PassthroughCluster", originalDestination: true },
      });
      // The catch-all is for hosts outside the registry only: a known host never falls through to it.
      expect(decideRoute(table, request("reviews", "/health"), Math.random)).toMatchObject({
        kind: "noRoute",
      });
      expect(target(decideRoute(table, request("reviews", "/reviews/1?x=1"), Math.random))).toBe("v1");
      const closed = tableFor([...mesh, outboundTrafficPolicy("REGISTRY_ONLY")]);
      expect(decideRoute(closed, request("unknown:80"), Math.random)).toMatchObject({
        kind: "direct",
        status: 502,
        flag: "NR",
      });
      expect(decideRoute(closed, request("reviews", "/health"), Math.random).kind).toBe("noRoute");
    });

    it("routes a Service without VirtualService to all its endpoints", () => {
      const decision = decideRoute(
        tableFor(bookinfoMesh()),
        request("ratings:9080", "/ratings/1"),
        Math.random,
      );
      expect(decision.kind === "forward" && decision.cluster.endpoints.map((e) => e.port)).toEqual([
        19091, 19092,
      ]);
    });

    it("fails closed with 503 when a route names a subset no DestinationRule defines", () => {
      const table = tableFor([
        ...bookinfoMesh(),
        virtualService("reviews", { hosts: ["reviews"], http: [{ route: [subsetRoute("v7")] }] }),
      ]);
      expect(decideRoute(table, request("reviews"), Math.random)).toMatchObject({
        kind: "direct",
        status: 503,
        body: "no healthy upstream",
        flag: "NC",
      });
    });

    it("answers direct responses itself; a fault goes with the route for the proxy to draw", () => {
      const table = tableFor([
        ...reviewsMesh({
          hosts: ["reviews"],
          http: [
            {
              match: [{ uri: { exact: "/teapot" } }],
              directResponse: { status: 418, body: { string: "short and stout" } },
            },
            {
              match: [{ headers: { "end-user": { exact: "jason" } } }],
              fault: { abort: { httpStatus: 500, percentage: { value: 100 } } },
              route: [subsetRoute("v1")],
            },
            { route: [subsetRoute("v1")] },
          ],
        }),
      ]);
      expect(decideRoute(table, request("reviews", "/teapot"), Math.random)).toMatchObject({
        kind: "direct",
        status: 418,
        body: "short and stout",
      });
      const jason = decideRoute(
        table,
        request("reviews", "/", { headers: { "end-user": "jason" } }),
        Math.random,
      );
      expect(jason.kind === "forward" && decideFault(jason.route.fault, Math.random)).toEqual({
        abort: { httpStatus: 500 },
      });
      const other = decideRoute(table, request("reviews", "/"), Math.random);
      expect(target(other)).toBe("v1");
      expect(other.kind === "forward" && other.route.fault).toBeUndefined();
    });

    it("passes the route timeout on", () => {
      const table = tableFor(
        reviewsMesh({ hosts: ["reviews"], http: [{ route: [subsetRoute("v1")], timeout: "1.5s" }] }),
      );
      expect(decideRoute(table, request("reviews"), Math.random)).toMatchObject({
        kind: "forward",
        timeoutMs: 1500,
      });
    });
  });
  defineMatchCases();
  defineRouteOrderCases();
  defineLoadBalancerCases();
  defineActionCases();
  defineTrafficPolicyCases();
}
