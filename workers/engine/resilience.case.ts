import { describe, expect, it } from "vitest";
import type { CorsPolicy, RetryPolicy } from "../../control/compile/snapshot.ts";
import { evaluateCors } from "./cors.ts";
import { decideRoute } from "./decide-route.ts";
import { request, reviewsMesh, seededRandom, subsetRoute, tableFor } from "./engine-fixtures.ts";
import { decideFault, faultAbortAnswer } from "./fault.ts";
import { pickMirrors, shadowAuthority } from "./mirror.ts";
import { formatResponseFlags } from "./response-flags.ts";
import {
  type AttemptOutcome,
  DEFAULT_RETRY_POLICY,
  planRetry,
  retryBackoffMs,
  retryPolicyOf,
} from "./retry-plan.ts";

/** Faults, retries, CORS and mirrors: part of the shared engine suite (see engine.case.ts). */
export function defineResilienceCases(): void {
  const routeOf = (http: object[], path = "/", headers: Record<string, string> = {}) => {
    const d = decideRoute(
      tableFor(reviewsMesh({ hosts: ["reviews"], http })),
      request("reviews", path, { headers }),
      Math.random,
    );
    if (d.kind !== "forward") throw new Error(`expected a forward, got ${d.kind}`);
    return d.route;
  };

  describe("engine: faults", () => {
    it("aborts and delays their percentage of requests, independently (seeded)", () => {
      const route = routeOf([
        {
          fault: {
            delay: { fixedDelay: "50ms", percentage: { value: 30 } },
            abort: { httpStatus: 503, percentage: { value: 10 } },
          },
          route: [subsetRoute("v1")],
        },
      ]);
      const random = seededRandom(3);
      let delayed = 0;
      let aborted = 0;
      for (let i = 0; i < 10_000; i++) {
        const f = decideFault(route.fault, random);
        if (f.delayMs === 50) delayed++;
        if (f.abort) aborted++;
      }
      expect(delayed / 10_000).toBeCloseTo(0.3, 1);
      expect(aborted / 10_000).toBeCloseTo(0.1, 1);
    });

    it("does nothing when the percentage is unset, as Istio documents", () => {
      const route = routeOf([
        { fault: { abort: { httpStatus: 500 }, delay: { fixedDelay: "1s" } }, route: [subsetRoute("v1")] },
      ]);
      expect(decideFault(route.fault, () => 0)).toEqual({});
    });

    it("disables the rule's timeout and retries", () => {
      const route = routeOf([
        {
          fault: { delay: { fixedDelay: "1s", percentage: { value: 100 } } },
          timeout: "2s",
          retries: { attempts: 5 },
          route: [subsetRoute("v1")],
        },
      ]);
      expect(route.action).toMatchObject({ kind: "route", retries: { attempts: 0 } });
      expect(route.action.kind === "route" && route.action.timeoutMs).toBeUndefined();
    });

    it("answers a gRPC abort as a 200 carrying grpc-status", () => {
      const route = routeOf([
        {
          fault: { abort: { grpcStatus: "UNAVAILABLE", percentage: { value: 100 } } },
          route: [subsetRoute("v1")],
        },
      ]);
      const fault = decideFault(route.fault, Math.random);
      expect(fault.abort && faultAbortAnswer(fault.abort)).toMatchObject({
        status: 200,
        headers: { "grpc-status": "14", "content-type": "application/grpc" },
      });
      expect(faultAbortAnswer({ httpStatus: 555 })).toMatchObject({
        status: 555,
        body: "fault filter abort",
      });
    });
  });

  describe("engine: retries", () => {
    const response = (status: number, headers: Record<string, string> = {}): AttemptOutcome => ({
      kind: "response",
      status,
      headers,
    });
    const never = () => 0;

    it("uses Istio's default when a rule names none: 2 retries on connect failures and 503", () => {
      const route = routeOf([{ route: [subsetRoute("v1")] }]);
      const policy = retryPolicyOf(route.action);
      expect(policy).toEqual(DEFAULT_RETRY_POLICY);
      expect(planRetry(policy, { kind: "connect-failure" }, 0, never)).toEqual({
        kind: "retry",
        backoffMs: 0,
      });
      expect(planRetry(policy, response(503), 1, never).kind).toBe("retry");
      expect(planRetry(policy, response(503), 2, never)).toEqual({ kind: "exhausted" });
      expect(planRetry(policy, response(500), 0, never)).toEqual({ kind: "done" });
      expect(planRetry(policy, { kind: "reset" }, 0, never)).toEqual({ kind: "done" });
      expect(planRetry(policy, response(200, { "grpc-status": "14" }), 0, never).kind).toBe("retry");
    });

    it("compiles attempts, perTryTimeout and retryOn with status codes", () => {
      const route = routeOf([
        {
          retries: { attempts: 3, perTryTimeout: "100ms", retryOn: "gateway-error,connect-failure,409" },
          route: [subsetRoute("v1")],
        },
      ]);
      expect(retryPolicyOf(route.action)).toEqual({
        attempts: 3,
        perTryTimeoutMs: 100,
        retryOn: ["gateway-error", "connect-failure", "retriable-status-codes"],
        retriableStatusCodes: [409],
        backoffBaseMs: 25,
      });
      expect(
        retryPolicyOf(routeOf([{ retries: { attempts: 0 }, route: [subsetRoute("v1")] }]).action).attempts,
      ).toBe(0);
    });

    it("follows Envoy's retry_on conditions", () => {
      const policy = (...retryOn: RetryPolicy["retryOn"]): RetryPolicy => ({
        attempts: 1,
        retryOn,
        retriableStatusCodes: [418],
        backoffBaseMs: 25,
      });
      const retries = (p: RetryPolicy, o: AttemptOutcome) => planRetry(p, o, 0, never).kind === "retry";
      expect(retries(policy("5xx"), response(500))).toBe(true);
      expect(retries(policy("5xx"), { kind: "reset" })).toBe(true);
      expect(retries(policy("5xx"), { kind: "per-try-timeout" })).toBe(true);
      expect(retries(policy("5xx"), response(404))).toBe(false);
      expect(retries(policy("gateway-error"), response(502))).toBe(true);
      expect(retries(policy("gateway-error"), response(500))).toBe(false);
      expect(retries(policy("connect-failure"), { kind: "connect-failure" })).toBe(true);
      expect(retries(policy("connect-failure"), response(503))).toBe(false);
      expect(retries(policy("refused-stream"), { kind: "reset" })).toBe(false);
      expect(retries(policy("retriable-status-codes"), response(418))).toBe(true);
      expect(retries(policy("retriable-4xx"), response(409))).toBe(true);
      expect(retries(policy("reset"), { kind: "reset" })).toBe(true);
    });

    it("backs off with jitter from 25 ms, doubling, capped at 250 ms", () => {
      const highest = () => 0.999_999;
      expect([0, 1, 2, 3, 4, 5].map((n) => retryBackoffMs(DEFAULT_RETRY_POLICY, n, highest))).toEqual([
        24, 49, 99, 199, 249, 249,
      ]);
      expect(retryBackoffMs(DEFAULT_RETRY_POLICY, 0, () => 0)).toBe(0);
    });
  });

  describe("engine: CORS", () => {
    const policy: CorsPolicy = {
      allowOrigins: [{ exact: "https://a.example" }, { regex: "https://.*\\.b\\.example" }],
      allowMethods: "GET,PUT",
      allowHeaders: "x-token",
      exposeHeaders: "x-page",
      maxAge: "86400",
      allowCredentials: true,
      unmatchedPreflights: "FORWARD",
    };
    const preflight = (origin: string) => ({
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "PUT" },
    });

    it("answers a preflight from an allowed origin with the allow headers", () => {
      expect(evaluateCors(policy, preflight("https://x.b.example"))).toEqual({
        kind: "preflight",
        status: 200,
        headers: {
          "access-control-allow-origin": "https://x.b.example",
          "access-control-allow-credentials": "true",
          "access-control-allow-methods": "GET,PUT",
          "access-control-allow-headers": "x-token",
          "access-control-max-age": "86400",
        },
      });
    });

    it("adds allow-origin and expose headers to actual requests from allowed origins only", () => {
      expect(evaluateCors(policy, { method: "GET", headers: { origin: "https://a.example" } })).toEqual({
        kind: "cors",
        responseHeaders: {
          "access-control-allow-origin": "https://a.example",
          "access-control-allow-credentials": "true",
          "access-control-expose-headers": "x-page",
        },
      });
      expect(evaluateCors(policy, { method: "GET", headers: { origin: "https://evil.example" } })).toEqual({
        kind: "none",
      });
      expect(evaluateCors(policy, { method: "GET", headers: {} })).toEqual({ kind: "none" });
    });

    it("forwards or ignores preflights from other origins; a matcher of * allows any origin", () => {
      expect(evaluateCors(policy, preflight("https://evil.example"))).toEqual({ kind: "none" });
      expect(
        evaluateCors({ ...policy, unmatchedPreflights: "IGNORE" }, preflight("https://evil.example")),
      ).toEqual({
        kind: "preflight",
        status: 200,
        headers: {},
      });
      const any: CorsPolicy = { allowOrigins: [{ exact: "*" }], unmatchedPreflights: "FORWARD" };
      expect(evaluateCors(any, preflight("https://evil.example"))).toMatchObject({
        headers: { "access-control-allow-origin": "https://evil.example" },
      });
    });

    it("compiles corsPolicy from a VirtualService (maxAge in seconds, lists joined)", () => {
      const route = routeOf([
        {
          corsPolicy: {
            allowOrigins: [{ exact: "https://a.example" }],
            allowMethods: ["GET", "POST"],
            maxAge: "24h",
            unmatchedPreflights: "IGNORE",
          },
          route: [subsetRoute("v1")],
        },
      ]);
      expect(route.cors).toEqual({
        allowOrigins: [{ exact: "https://a.example" }],
        allowMethods: "GET,POST",
        maxAge: "86400",
        unmatchedPreflights: "IGNORE",
      });
    });
  });

  describe("engine: mirrors and flags", () => {
    it("mirrors to each destination for its percentage (100% by default)", () => {
      const route = routeOf([
        {
          route: [subsetRoute("v1")],
          mirror: { host: "reviews", subset: "v2" },
          mirrorPercentage: { value: 25 },
        },
      ]);
      const mirrors = route.action.kind === "route" ? route.action.mirrors : undefined;
      expect(mirrors).toEqual([
        { cluster: "outbound|9080|v2|reviews.default.svc.cluster.local", percentage: 25 },
      ]);
      const random = seededRandom(5);
      let copies = 0;
      for (let i = 0; i < 10_000; i++) copies += pickMirrors(mirrors, random).length;
      expect(copies / 10_000).toBeCloseTo(0.25, 1);
      const all = routeOf([
        { route: [subsetRoute("v1")], mirrors: [{ destination: { host: "reviews", subset: "v3" } }] },
      ]);
      expect(all.action.kind === "route" && pickMirrors(all.action.mirrors, () => 0.99)).toEqual([
        "outbound|9080|v3|reviews.default.svc.cluster.local",
      ]);
    });

    it("marks mirrored copies with a -shadow host", () => {
      expect(shadowAuthority("reviews:9080")).toBe("reviews-shadow:9080");
      expect(shadowAuthority("reviews.default.svc.cluster.local")).toBe(
        "reviews.default.svc.cluster.local-shadow",
      );
    });

    it("formats response flags in Envoy's order", () => {
      expect(formatResponseFlags(["URX", "UF", "UF"])).toBe("UF,URX");
      expect(formatResponseFlags(["FI"])).toBe("FI");
    });
  });
}
