import { describe, expect, it } from "vitest";
import { compile } from "../../control/compile/compile.ts";
import type { Cluster } from "../../control/compile/snapshot.ts";
import { destinationRule, service, sidecar, workloadEntry } from "../../control/compile/test-resources.ts";
import { admitRequest, canDispatchPending } from "./connection-pool.ts";
import { REVIEWS, seededRandom } from "./engine-fixtures.ts";
import { hashKeyOf } from "./hash-key.ts";
import { createLoadBalancerState, pickEndpoint } from "./load-balancer.ts";
import { pickEndpointForRetry } from "./retry-plan.ts";

/** DestinationRule traffic policies (consistent hash, connection pool, outlier detection), shared suite. */
export function defineTrafficPolicyCases(): void {
  const clusterOf = (trafficPolicy: unknown, endpoints = 3, subsets: unknown[] = []): Cluster => {
    const resources = [
      service("reviews"),
      ...Array.from({ length: endpoints }, (_, i) => workloadEntry("reviews", `v${i + 1}`, i + 1)),
      destinationRule("reviews", [], { trafficPolicy }),
    ];
    const dr = resources.at(-1);
    if (dr && subsets.length > 0) (dr.spec as { subsets: unknown[] }).subsets = subsets;
    const c = compile(resources, sidecar()).snapshot.clusters[`outbound|9080||${REVIEWS}`];
    if (!c) throw new Error("cluster missing");
    return c;
  };
  const withEndpoints = (c: Cluster, ports: number[]): Cluster => ({
    ...c,
    endpoints: c.endpoints.filter((e) => ports.includes(e.port)),
  });

  describe("engine: consistent hash", () => {
    const byHeader = { loadBalancer: { consistentHash: { httpHeaderName: "x-user" } } };

    it("sends the same key to the same endpoint and spreads keys over all endpoints", () => {
      const c = clusterOf(byHeader);
      const lb = createLoadBalancerState();
      const pick = (key: string) => pickEndpoint(c, lb, Math.random, { hashKey: key })?.port;
      for (const key of ["alice", "bob", "carol"]) {
        const first = pick(key);
        expect(Array.from({ length: 20 }, () => pick(key))).toEqual(Array(20).fill(first));
      }
      const spread = new Map<number | undefined, number>();
      for (let i = 0; i < 3000; i++) spread.set(pick(`user-${i}`), (spread.get(pick(`user-${i}`)) ?? 0) + 1);
      expect([...spread.keys()].sort()).toEqual([1, 2, 3]);
      for (const count of spread.values()) expect(count).toBeGreaterThan(600);
    });

    it("moves only the keys of an endpoint that leaves (minimal disruption)", () => {
      const c = clusterOf(byHeader, 4);
      const before = new Map<string, number | undefined>();
      const first = createLoadBalancerState();
      for (let i = 0; i < 2000; i++)
        before.set(`k${i}`, pickEndpoint(c, first, Math.random, { hashKey: `k${i}` })?.port);
      const smaller = withEndpoints(c, [1, 2, 4]);
      const lb = createLoadBalancerState();
      for (const [key, port] of before) {
        const now = pickEndpoint(smaller, lb, Math.random, { hashKey: key })?.port;
        if (port !== 3) expect(now).toBe(port);
        else expect(now).not.toBe(3);
      }
    });

    it("does not depend on endpoint order", () => {
      const c = clusterOf(byHeader, 3);
      const reversed = { ...c, endpoints: [...c.endpoints].reverse() };
      for (let i = 0; i < 200; i++) {
        const a = pickEndpoint(c, createLoadBalancerState(), Math.random, { hashKey: `k${i}` });
        const b = pickEndpoint(reversed, createLoadBalancerState(), Math.random, { hashKey: `k${i}` });
        expect(b?.port).toBe(a?.port);
      }
    });

    it("a retry walks the ring to an endpoint not tried yet", () => {
      const c = clusterOf(byHeader);
      const lb = createLoadBalancerState();
      const first = pickEndpointForRetry(c, lb, Math.random, [], "alice");
      const second = pickEndpointForRetry(c, lb, Math.random, first ? [first] : [], "alice");
      expect(second?.port).not.toBe(first?.port);
    });

    it("reads the key from a header, a cookie, the source IP or a query parameter", () => {
      const input = {
        headers: { "x-user": "u1", cookie: 'a=1; session="s-9"' },
        path: "/p?tenant=t7&x=1",
        sourceIp: "10.0.0.9",
      };
      const policy = (key: unknown) => clusterOf({ loadBalancer: { consistentHash: key } }).consistentHash;
      const keyOf = (spec: unknown) => {
        const p = policy(spec);
        return p ? hashKeyOf(p, input).key : "no policy";
      };
      expect(keyOf({ httpHeaderName: "X-User" })).toBe("u1");
      expect(keyOf({ httpCookie: { name: "session", ttl: "10s" } })).toBe("s-9");
      expect(keyOf({ useSourceIp: true })).toBe("10.0.0.9");
      expect(keyOf({ httpQueryParameterName: "tenant" })).toBe("t7");
      expect(keyOf({ httpHeaderName: "x-missing" })).toBeUndefined();
    });

    it("generates a missing cookie when it has a ttl (Envoy), and not without one", () => {
      const spec = (cookie: unknown) =>
        clusterOf({ loadBalancer: { consistentHash: { httpCookie: cookie } } }).consistentHash;
      const withTtl = spec({ name: "sticky", path: "/", ttl: "60s" });
      const input = { headers: {}, path: "/", connectionId: "10.0.0.1:5000|10.0.0.2:15001" };
      const generated = withTtl && hashKeyOf(withTtl, input);
      expect(generated?.key).toMatch(/^[0-9a-f]{16}$/);
      expect(generated?.setCookie).toBe(`sticky="${generated?.key}"; Max-Age=60; Path=/; HttpOnly`);
      expect(withTtl && hashKeyOf(withTtl, input)).toEqual(generated);
      const next =
        withTtl &&
        hashKeyOf(withTtl, { headers: { cookie: generated?.setCookie?.split(";")[0] }, path: "/" });
      expect(next).toEqual({ key: generated?.key });
      const session = spec({ name: "sticky", ttl: "0s" });
      expect(session && hashKeyOf(session, input).setCookie).toMatch(/^sticky="[0-9a-f]{16}"; HttpOnly$/);
      const attributed = spec({
        name: "s",
        ttl: "1h",
        attributes: [{ name: "SameSite", value: "Strict" }, { name: "Secure" }],
      });
      expect(attributed && hashKeyOf(attributed, input).setCookie).toMatch(
        /^s="[0-9a-f]{16}"; Max-Age=3600; SameSite=Strict; Secure; HttpOnly$/,
      );
      const noTtl = spec({ name: "sticky" });
      expect(noTtl && hashKeyOf(noTtl, input)).toEqual({});
    });

    it("subset and port-level policies override the rule's as Istio merges them", () => {
      const resources = [
        service("reviews", {
          ports: [
            { name: "http", port: 9080 },
            { name: "http-admin", port: 9090 },
          ],
        }),
        workloadEntry("reviews", "v1", 1, { ports: { http: 1, "http-admin": 11 } }),
        destinationRule("reviews", [], {
          trafficPolicy: {
            loadBalancer: { simple: "ROUND_ROBIN" },
            connectionPool: { tcp: { maxConnections: 7 } },
            portLevelSettings: [{ port: { number: 9090 }, loadBalancer: { simple: "RANDOM" } }],
          },
        }),
      ];
      const dr = resources[2];
      if (dr)
        (dr.spec as { subsets: unknown[] }).subsets = [
          {
            name: "v1",
            labels: { version: "v1" },
            trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } },
          },
        ];
      const clusters = compile(resources, sidecar()).snapshot.clusters;
      const at = (port: number, subset = "") => clusters[`outbound|${port}|${subset}|${REVIEWS}`];
      expect(at(9080)).toMatchObject({ loadBalancer: "ROUND_ROBIN", connectionPool: { maxConnections: 7 } });
      // A port-level setting replaces all fields of the policy: no inherited connection pool.
      expect(at(9090)?.loadBalancer).toBe("RANDOM");
      expect(at(9090)?.connectionPool).toBeUndefined();
      // A subset replaces the fields it sets and keeps the others.
      expect(at(9080, "v1")?.consistentHash?.key).toEqual({ kind: "sourceIp" });
      expect(at(9080, "v1")?.connectionPool).toEqual({ maxConnections: 7 });
      expect(at(9090, "v1")?.consistentHash?.key).toEqual({ kind: "sourceIp" });
      expect(at(9090, "v1")?.connectionPool).toBeUndefined();
    });
  });

  describe("engine: connection pool limits", () => {
    it("dispatches up to maxConnections, queues up to http1MaxPendingRequests, then overflows", () => {
      const policy = clusterOf({
        connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } },
      }).connectionPool;
      expect(admitRequest(policy, { active: 0, pending: 0 })).toBe("dispatch");
      expect(admitRequest(policy, { active: 1, pending: 0 })).toBe("queue");
      expect(admitRequest(policy, { active: 1, pending: 1 })).toBe("overflow");
      expect(canDispatchPending(policy, { active: 0, pending: 1 })).toBe(true);
    });

    it("overflows at once at http2MaxRequests; no policy means no limit", () => {
      const policy = clusterOf({ connectionPool: { http: { http2MaxRequests: 2 } } }).connectionPool;
      expect(admitRequest(policy, { active: 1, pending: 0 })).toBe("dispatch");
      expect(admitRequest(policy, { active: 2, pending: 0 })).toBe("overflow");
      expect(admitRequest(undefined, { active: 10_000, pending: 10_000 })).toBe("dispatch");
    });
  });

  describe("engine: outlier detection", () => {
    const policy = {
      outlierDetection: {
        consecutive5xxErrors: 3,
        interval: "1s",
        baseEjectionTime: "30s",
        maxEjectionPercent: 100,
      },
      loadBalancer: { simple: "ROUND_ROBIN" },
    };

    it("ejects an endpoint after consecutive 5xx, skips it, and returns it after baseEjectionTime", () => {
      let now = 1_000_000;
      const c = clusterOf(policy, 2);
      const lb = createLoadBalancerState({ clock: () => now });
      const bad = c.endpoints[0];
      if (!bad) throw new Error("no endpoint");
      lb.report(c, bad, 503);
      lb.report(c, bad, 200); // a success resets the count
      for (let i = 0; i < 3; i++) lb.report(c, bad, 500);
      expect(lb.outliers.isEjected(c, bad, now)).toBe(true);
      expect(Array.from({ length: 6 }, () => pickEndpoint(c, lb, Math.random)?.port)).toEqual(
        Array(6).fill(2),
      );
      now += 29_000;
      expect(pickEndpoint(c, lb, Math.random)?.port).toBe(2);
      now += 2_000; // the first sweep after 30 s ends the ejection
      const ports = new Set(Array.from({ length: 4 }, () => pickEndpoint(c, lb, Math.random)?.port));
      expect([...ports].sort()).toEqual([1, 2]);
    });

    it("a second ejection lasts baseEjectionTime × 2", () => {
      let now = 0;
      const c = clusterOf(policy, 2);
      const lb = createLoadBalancerState({ clock: () => now });
      const bad = c.endpoints[0];
      if (!bad) throw new Error("no endpoint");
      const fail = () => {
        for (let i = 0; i < 3; i++) lb.report(c, bad, 502);
      };
      fail();
      now = 30_500; // unejected on the 30 s sweep, fails again at once
      expect(lb.outliers.isEjected(c, bad, now)).toBe(false);
      fail();
      now = 30_500 + 59_000;
      expect(lb.outliers.isEjected(c, bad, now)).toBe(true);
      now = 30_500 + 61_000;
      expect(lb.outliers.isEjected(c, bad, now)).toBe(false);
    });

    it("counts gateway errors apart, and caps ejections at maxEjectionPercent (one always allowed)", () => {
      const now = 0;
      const c = clusterOf(
        {
          outlierDetection: { consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, maxEjectionPercent: 30 },
        },
        4,
      );
      const lb = createLoadBalancerState({ clock: () => now });
      const [a, b] = c.endpoints;
      if (!a || !b) throw new Error("no endpoints");
      lb.report(c, a, 500);
      lb.report(c, a, 500);
      expect(lb.outliers.isEjected(c, a, now)).toBe(false); // 500 is not a gateway error
      lb.report(c, a, 503);
      lb.report(c, a, 504);
      expect(lb.outliers.isEjected(c, a, now)).toBe(true);
      lb.report(c, b, 502);
      lb.report(c, b, 502);
      expect(lb.outliers.isEjected(c, b, now)).toBe(false); // 2 of 4 would be 50 % > 30 %
      expect(lb.outliers.ejected(c, now)).toEqual(["127.0.0.1:1"]);
    });

    it("answers no endpoint when every endpoint is ejected; hash clusters skip ejected endpoints", () => {
      const now = 0;
      const c = clusterOf({
        outlierDetection: { consecutive5xxErrors: 1, maxEjectionPercent: 100 },
        loadBalancer: { consistentHash: { httpHeaderName: "x-user" } },
      });
      const lb = createLoadBalancerState({ clock: () => now });
      const home = pickEndpoint(c, lb, seededRandom(1), { hashKey: "alice" });
      if (!home) throw new Error("no endpoint");
      lb.report(c, home, 503);
      const moved = pickEndpoint(c, lb, seededRandom(1), { hashKey: "alice" });
      expect(moved && moved.port !== home.port).toBe(true);
      for (const e of c.endpoints) lb.report(c, e, 503);
      expect(pickEndpoint(c, lb, Math.random, { hashKey: "alice" })).toBeUndefined();
      expect(pickEndpoint(c, lb, Math.random)).toBeUndefined();
    });
  });
}
