import { describe, expect, it } from "vitest";
import {
  authorizationPolicy as ap,
  requestAuthentication as ra,
} from "../../workers/engine/authz-fixtures.ts";
import { compile } from "./compile.ts";
import { createIncrementalCompiler } from "./incremental.ts";
import { bookinfoMesh, resourceMap, sidecar, virtualService } from "./test-resources.ts";

const reviews = sidecar("reviews");
const allowGet = ap("get-only", "default", { rules: [{ to: [{ operation: { methods: ["GET"] } }] }] });

describe("compile: authz section", () => {
  it("is absent, and the version unchanged, when no security resource exists", () => {
    const plain = compile(bookinfoMesh(), reviews).snapshot;
    expect(plain.authz).toBeUndefined();
    const elsewhere = compile([...bookinfoMesh(), ap("x", "other-ns", {})], reviews).snapshot;
    expect(elsewhere.authz).toEqual({ policies: [], jwtRules: [] });
    const withPolicy = compile([...bookinfoMesh(), allowGet], reviews).snapshot;
    expect(withPolicy.version).not.toBe(plain.version);
    expect(withPolicy.authz?.policies.map((p) => p.ref)).toEqual(["AuthorizationPolicy/default/get-only"]);
  });

  it("selects by targetRef Service: the sidecars the Service's selector picks", () => {
    const policy = ap("reviews-only", "default", {
      targetRef: { group: "", kind: "Service", name: "reviews" },
    });
    const resources = [...bookinfoMesh(), policy];
    expect(compile(resources, reviews).snapshot.authz?.policies).toHaveLength(1);
    expect(compile(resources, sidecar("ratings")).snapshot.authz?.policies).toHaveLength(0);
    expect(compile([policy], reviews).snapshot.authz?.policies).toHaveLength(0);
  });

  it("compiles JWT rules with lower-case header names and the timeout in ms", () => {
    const { snapshot } = compile(
      [
        ra("jwt", "default", {
          jwtRules: [
            { issuer: "iss", jwksUri: "https://k/jwks", timeout: "1.5s", fromHeaders: [{ name: "X-Token" }] },
          ],
        }),
      ],
      reviews,
    );
    expect(snapshot.authz?.jwtRules).toEqual([
      {
        ref: "RequestAuthentication/default/jwt#0",
        issuer: "iss",
        jwksUri: "https://k/jwks",
        timeoutMs: 1500,
        fromHeaders: [{ name: "x-token" }],
      },
    ]);
  });

  it("reports an invalid policy that reached the proxy (JIBE2030) and compiles it to fail closed", () => {
    const broken = ap("broken", "default", { action: "DENY", rules: [{ from: [] }] });
    const { snapshot, diagnostics } = compile([broken], reviews);
    expect(diagnostics.map((d) => d.code)).toEqual(
      expect.arrayContaining(["JIBE1013", "JIBE2005", "JIBE2030"]),
    );
    expect(snapshot.authz?.policies[0]).toMatchObject({ action: "DENY", rules: [{}] });
  });

  it("recompiles authz only when a security resource changes", () => {
    const compiler = createIncrementalCompiler(reviews);
    const resources = resourceMap([...bookinfoMesh(), allowGet]);
    const first = compiler.update({ resources, changed: new Set(resources.keys()), revision: 1 });
    const vs = virtualService("reviews", {
      hosts: ["reviews"],
      http: [{ route: [{ destination: { host: "reviews" } }] }],
    });
    resources.set("VirtualService/default/reviews", vs);
    const second = compiler.update({
      resources,
      changed: new Set(["VirtualService/default/reviews"]),
      revision: 2,
    });
    expect(second.snapshot.authz).toBe(first.snapshot.authz);
    const denyAll = ap("get-only", "default", {});
    resources.set("AuthorizationPolicy/default/get-only", denyAll);
    const third = compiler.update({
      resources,
      changed: new Set(["AuthorizationPolicy/default/get-only"]),
      revision: 3,
    });
    expect(third.changed).toBe(true);
    expect(third.snapshot.authz?.policies[0]?.rules).toEqual([]);
  });
});
