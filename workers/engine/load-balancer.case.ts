import { describe, expect, it } from "vitest";
import { compile } from "../../control/compile/compile.ts";
import { destinationRule, service, sidecar, workloadEntry } from "../../control/compile/test-resources.ts";
import { REVIEWS, seededRandom } from "./engine-fixtures.ts";
import { createLoadBalancerState, pickEndpoint } from "./load-balancer.ts";

/** Endpoint picking, part of the shared engine suite (see engine.case.ts). */
export function defineLoadBalancerCases(): void {
  describe("engine: load balancing", () => {
    const cluster = (loadBalancer: "ROUND_ROBIN" | "RANDOM" | "LEAST_REQUEST") => {
      const resources = [
        service("reviews"),
        workloadEntry("reviews", "v1", 1),
        workloadEntry("reviews", "v2", 2),
        workloadEntry("reviews", "v3", 3),
        destinationRule("reviews", [], { trafficPolicy: { loadBalancer: { simple: loadBalancer } } }),
      ];
      const c = compile(resources, sidecar()).snapshot.clusters[`outbound|9080||${REVIEWS}`];
      if (!c) throw new Error("cluster missing");
      return c;
    };

    it("ROUND_ROBIN cycles through the endpoints in order", () => {
      const lb = createLoadBalancerState();
      const c = cluster("ROUND_ROBIN");
      expect(Array.from({ length: 6 }, () => pickEndpoint(c, lb, Math.random)?.port)).toEqual([
        1, 2, 3, 1, 2, 3,
      ]);
    });

    it("RANDOM uses the random source", () => {
      const c = cluster("RANDOM");
      expect(pickEndpoint(c, createLoadBalancerState(), () => 0.99)?.port).toBe(3);
      expect(pickEndpoint(c, createLoadBalancerState(), () => 0)?.port).toBe(1);
    });

    it("LEAST_REQUEST prefers the endpoint with fewer requests in flight, and release() frees it", () => {
      const c = cluster("LEAST_REQUEST");
      const lb = createLoadBalancerState();
      const random = seededRandom(3);
      const busy = Array.from({ length: 30 }, () => pickEndpoint(c, lb, random));
      const perEndpoint = [1, 2, 3].map((p) => busy.filter((e) => e?.port === p).length);
      expect(Math.max(...perEndpoint) - Math.min(...perEndpoint)).toBeLessThanOrEqual(2);
      for (const e of busy) if (e && e.port !== 1) lb.release(c, e);
      expect(Array.from({ length: 5 }, () => pickEndpoint(c, lb, random)?.port)).not.toContain(1);
    });

    it("returns undefined for a cluster without endpoints", () => {
      const empty = compile([service("reviews")], sidecar()).snapshot.clusters[`outbound|9080||${REVIEWS}`];
      expect(empty && pickEndpoint(empty, createLoadBalancerState(), Math.random)).toBeUndefined();
    });
  });
}
