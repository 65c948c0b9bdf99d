import { describe, expect, it } from "vitest";
import { authorizationPolicy as ap, authzFor, workload } from "./authz-fixtures.ts";

/**
 * AuthorizationPolicy on TCP, in dry-run, and when invalid policy reached the proxy; part of the
 * shared authz suite (`authz.case.ts`), run in Node and workerd.
 */

const httpbin = workload("httpbin", "foo");

/** Declares the TCP, dry-run and fail-closed cases. */
export function defineAuthzModeCases(): void {
  describe("authz: TCP", () => {
    const tcp = {
      protocol: "tcp" as const,
      host: undefined,
      method: undefined,
      path: undefined,
      headers: undefined,
    };

    it("ALLOW on ports works for TCP", () => {
      const { may } = authzFor(
        [ap("tcp-policy", "foo", { rules: [{ to: [{ operation: { ports: ["9000", "9001"] } }] }] })],
        httpbin,
      );
      expect(may({ ...tcp, destinationPort: 9000 })).toBe(true);
      expect(may({ ...tcp, destinationPort: 9002 })).toBe(false);
    });

    it("an ALLOW rule with an HTTP-only field never matches TCP (so TCP is denied)", () => {
      const { may } = authzFor(
        [
          ap("tcp-policy", "foo", {
            rules: [{ to: [{ operation: { methods: ["GET"], ports: ["9000"] } }] }],
          }),
        ],
        httpbin,
      );
      expect(may({ ...tcp, destinationPort: 9000 })).toBe(false);
      expect(may({ destinationPort: 9000, method: "GET" })).toBe(true);
    });

    it("a DENY rule with HTTP-only fields ignores them for TCP (so it denies more)", () => {
      const { may } = authzFor(
        [
          ap("tcp-policy", "foo", {
            action: "DENY",
            rules: [{ to: [{ operation: { methods: ["GET"], ports: ["9000"] } }] }],
          }),
        ],
        httpbin,
      );
      expect(may({ ...tcp, destinationPort: 9000 })).toBe(false);
      expect(may({ ...tcp, destinationPort: 9001 })).toBe(true);
      expect(may({ destinationPort: 9000, method: "POST" })).toBe(true);
      const whenOnly = authzFor(
        [
          ap("deny-header", "foo", {
            action: "DENY",
            rules: [{ when: [{ key: "request.headers[x]", values: ["1"] }] }],
          }),
        ],
        httpbin,
      );
      expect(whenOnly.may(tcp)).toBe(false);
      expect(whenOnly.may({})).toBe(true);
    });
  });

  describe("authz: dry-run", () => {
    it("a dry-run DENY is reported, not enforced", () => {
      const { decide } = authzFor(
        [
          ap(
            "deny-path-headers",
            "foo",
            { action: "DENY", rules: [{ to: [{ operation: { paths: ["/headers"] } }] }] },
            {
              "istio.io/dry-run": "true",
            },
          ),
        ],
        httpbin,
      );
      const decision = decide({ path: "/headers" });
      expect(decision.allowed).toBe(true);
      expect(decision.dryRun).toMatchObject({
        allowed: false,
        reason: "deny",
        match: { policy: "AuthorizationPolicy/foo/deny-path-headers", rule: 0 },
      });
      expect(decide({ path: "/ip" }).dryRun).toMatchObject({ allowed: true });
    });

    it("a dry-run ALLOW does not switch the workload to deny-by-default", () => {
      const { decide } = authzFor(
        [
          ap(
            "only-get",
            "foo",
            { rules: [{ to: [{ operation: { methods: ["GET"] } }] }] },
            { "istio.io/dry-run": "TRUE" },
          ),
        ],
        httpbin,
      );
      const post = decide({ method: "POST" });
      expect(post.allowed).toBe(true);
      expect(post.dryRun).toMatchObject({ allowed: false, reason: "no-allow-match" });
    });
  });

  describe("authz: invalid policy that reached the proxy fails closed", () => {
    // Written straight to the store (e.g. by an older control plane): validation refuses these.
    const invalid = (action: string) =>
      ap("broken", "foo", {
        action,
        rules: [{ from: [{ source: { serviceAccounts: ["foo/a"], namespaces: ["x"] } }] }],
      });

    it("an invalid DENY policy denies everything, naming itself", () => {
      const { decide, snapshot } = authzFor([invalid("DENY")], httpbin);
      expect(decide({})).toMatchObject({
        allowed: false,
        match: { policy: "AuthorizationPolicy/foo/broken" },
      });
      expect(snapshot.authz?.policies[0]?.failClosed).toContain("denies every request");
    });

    it("an invalid ALLOW policy allows nothing, but a valid ALLOW still grants", () => {
      expect(authzFor([invalid("ALLOW")], httpbin).may({})).toBe(false);
      const withValid = authzFor(
        [invalid("ALLOW"), ap("get", "foo", { rules: [{ to: [{ operation: { methods: ["GET"] } }] }] })],
        httpbin,
      );
      expect(withValid.may({ method: "GET" })).toBe(true);
      expect(withValid.may({ method: "POST" })).toBe(false);
    });

    it("an unknown action or an unreadable selector is treated as deny-all for this workload", () => {
      expect(authzFor([ap("weird", "foo", { action: "REJECT" })], httpbin).may({})).toBe(false);
      const selector = ap("sel", "foo", { action: "DENY", selector: { matchLabels: "app=httpbin" } });
      expect(authzFor([selector], workload("reviews", "foo")).may({})).toBe(false);
    });

    it("an invalid AUDIT policy changes nothing", () => {
      expect(authzFor([invalid("AUDIT")], httpbin).may({})).toBe(true);
    });
  });
}
