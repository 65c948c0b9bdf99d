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

    describe("endpoint weights (ServiceEntry / WorkloadEntry `weight`)", () => {
      const weighted = (simple: "ROUND_ROBIN" | "RANDOM" | "LEAST_REQUEST" | { consistentHash: object }) => {
        const entry = {
          apiVersion: "networking.istio.io/v1",
          kind: "ServiceEntry",
          metadata: { name: "ledger", namespace: "default" },
          spec: {
            hosts: ["ledger.internal"],
            ports: [{ number: 80, name: "http", protocol: "HTTP" }],
            resolution: "STATIC",
            endpoints: [
              { address: "10.0.0.1", labels: { version: "v1" } },
              { address: "10.0.0.2", weight: 3, labels: { version: "v2" } },
            ],
          },
        };
        const rule = destinationRule("ledger.internal", ["v2"], {
          trafficPolicy: { loadBalancer: typeof simple === "string" ? { simple } : simple },
        });
        const { clusters } = compile([entry, rule], sidecar()).snapshot;
        const all = clusters["outbound|80||ledger.internal"];
        if (!all) throw new Error("cluster missing");
        return { all, subset: clusters["outbound|80|v2|ledger.internal"] };
      };
      const shareOfHeavy = (
        c: ReturnType<typeof weighted>["all"],
        n: number,
        lb = createLoadBalancerState(),
      ) => {
        const random = seededRandom(11);
        let heavy = 0;
        for (let i = 0; i < n; i++) if (pickEndpoint(c, lb, random)?.address === "10.0.0.2") heavy++;
        return heavy / n;
      };

      it("compiles weights onto the endpoints, subsets included", () => {
        const { all, subset } = weighted("ROUND_ROBIN");
        expect(all.endpoints.map((e) => e.weight ?? 1)).toEqual([1, 3]);
        expect(subset?.endpoints).toEqual([
          { address: "10.0.0.2", port: 80, weight: 3, labels: { version: "v2" } },
        ]);
      });

      it("ROUND_ROBIN interleaves picks in exact proportion (1:3 in every 4)", () => {
        const { all } = weighted("ROUND_ROBIN");
        const lb = createLoadBalancerState();
        const picks = Array.from({ length: 8 }, () => pickEndpoint(all, lb, Math.random)?.address);
        expect(picks.filter((a) => a === "10.0.0.1")).toHaveLength(2);
        expect(picks.slice(0, 4).filter((a) => a === "10.0.0.2")).toHaveLength(3);
      });

      it("RANDOM and LEAST_REQUEST send each endpoint its weight's share (statistical, ±3%)", () => {
        expect(Math.abs(shareOfHeavy(weighted("RANDOM").all, 20_000) - 0.75)).toBeLessThan(0.03);
        // Without release() every pick stays in flight: the least loaded per unit of weight wins.
        expect(Math.abs(shareOfHeavy(weighted("LEAST_REQUEST").all, 4_000) - 0.75)).toBeLessThan(0.03);
      });

      it("consistentHash gives a weighted endpoint a matching share of the keys (ring points)", () => {
        const { all } = weighted({ consistentHash: { httpHeaderName: "x-user" } });
        const lb = createLoadBalancerState();
        let heavy = 0;
        for (let i = 0; i < 4_000; i++)
          if (pickEndpoint(all, lb, Math.random, { hashKey: `user-${i}` })?.address === "10.0.0.2") heavy++;
        expect(Math.abs(heavy / 4_000 - 0.75)).toBeLessThan(0.06);
      });
    });

    it("returns undefined for a cluster without endpoints", () => {
      const empty = compile([service("reviews")], sidecar()).snapshot.clusters[`outbound|9080||${REVIEWS}`];
      expect(empty && pickEndpoint(empty, createLoadBalancerState(), Math.random)).toBeUndefined();
    });
  });
}
