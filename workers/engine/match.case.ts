import { describe, expect, it } from "vitest";
import { bookinfoMesh, gateway, virtualService } from "../../control/compile/test-resources.ts";
import { decideRoute, type RequestFacts } from "./decide-route.ts";
import { request, reviewsMesh, subsetRoute, tableFor, target } from "./engine-fixtures.ts";

/** Match conditions and host selection, part of the shared engine suite (see engine.case.ts). */
export function defineMatchCases(): void {
  describe("engine: match conditions", () => {
    const rules = [
      { name: "regex", match: [{ uri: { regex: "/api/v[0-9]+" } }], route: [subsetRoute("v1")] },
      {
        name: "nocase",
        match: [{ uri: { prefix: "/Static" }, ignoreUriCase: true }],
        route: [subsetRoute("v2")],
      },
      {
        name: "post-with-flag",
        match: [{ method: { exact: "POST" }, queryParams: { debug: {} } }],
        route: [subsetRoute("v3")],
      },
      {
        name: "beta-not-bot",
        match: [{ headers: { "x-beta": {} }, withoutHeaders: { "user-agent": { prefix: "bot" } } }],
        route: [subsetRoute("v2")],
      },
      {
        name: "port-or-https",
        match: [{ port: 9080, uri: { prefix: "/p" } }, { scheme: { exact: "https" } }],
        route: [subsetRoute("v3")],
      },
      {
        name: "authority",
        match: [{ authority: { regex: "reviews\\.default(:\\d+)?" } }],
        route: [subsetRoute("v1")],
      },
      { name: "empty-value", match: [{ headers: { "x-empty": { exact: "" } } }], route: [subsetRoute("v2")] },
    ];
    const table = tableFor(reviewsMesh({ hosts: ["reviews"], http: rules }));
    const routeName = (facts: RequestFacts) => {
      const d = decideRoute(table, facts, Math.random);
      return d.kind === "noRoute" ? "noRoute" : d.route.name;
    };

    it("matches regexes against the whole path, like Envoy", () => {
      expect(routeName(request("reviews", "/api/v12"))).toBe("regex");
      expect(routeName(request("reviews", "/api/v1/extra"))).toBe("noRoute");
    });

    it("ignores URI case when asked", () => {
      expect(routeName(request("reviews", "/STATIC/app.js"))).toBe("nocase");
    });

    it("ANDs conditions within a match: method and query parameter presence", () => {
      expect(routeName(request("reviews", "/x?debug", { method: "POST" }))).toBe("post-with-flag");
      expect(routeName(request("reviews", "/x?debug=1", { method: "GET" }))).toBe("noRoute");
      expect(routeName(request("reviews", "/x?verbose=1", { method: "POST" }))).toBe("noRoute");
    });

    it("checks header presence and withoutHeaders", () => {
      expect(routeName(request("reviews", "/", { headers: { "x-beta": "" } }))).toBe("beta-not-bot");
      expect(routeName(request("reviews", "/", { headers: { "x-beta": "1", "user-agent": "curl" } }))).toBe(
        "beta-not-bot",
      );
      expect(routeName(request("reviews", "/", { headers: { "x-beta": "1", "user-agent": "bot/2" } }))).toBe(
        "noRoute",
      );
    });

    it('treats exact "" as an empty value, not as presence', () => {
      expect(routeName(request("reviews", "/e", { headers: { "x-empty": "" } }))).toBe("empty-value");
      expect(routeName(request("reviews", "/e", { headers: { "x-empty": "set" } }))).toBe("noRoute");
    });

    it("ORs match blocks: port (from the authority) or scheme", () => {
      expect(routeName(request("reviews:9080", "/p"))).toBe("port-or-https");
      expect(routeName(request("reviews", "/p"))).toBe("noRoute");
      expect(routeName(request("reviews", "/q", { scheme: "https" }))).toBe("port-or-https");
    });

    it("matches the authority", () => {
      expect(routeName(request("reviews.default:9080", "/z"))).toBe("authority");
      expect(routeName(request("reviews:9080", "/z"))).toBe("noRoute");
    });

    it("first matching rule wins", () => {
      expect(routeName(request("reviews.default", "/api/v1"))).toBe("regex");
    });
  });

  describe("engine: hosts and gateways", () => {
    it("serves wildcard hosts and falls back to the host without port", () => {
      const table = tableFor([
        ...bookinfoMesh(),
        virtualService("ext", {
          hosts: ["*.example.com"],
          http: [{ route: [{ destination: { host: "details" } }] }],
        }),
      ]);
      expect(target(decideRoute(table, request("shop.eu.example.com:8443"), Math.random))).toBe("");
      // `*.example.com` needs a label before the domain: example.com itself is outside the registry.
      expect(decideRoute(table, request("example.com"), Math.random)).toMatchObject({
        kind: "forward",
        cluster: { name: "PassthroughCluster" },
      });
    });

    it("routes a gateway by the VirtualServices bound to it, and nothing else", () => {
      const resources = [
        ...bookinfoMesh(),
        virtualService("bookinfo", {
          hosts: ["*"],
          gateways: ["jibe-edge"],
          http: [
            {
              match: [{ uri: { exact: "/productpage" } }],
              route: [{ destination: { host: "productpage", port: { number: 9080 } } }],
            },
          ],
        }),
      ];
      const edge = tableFor(resources, gateway(["default/jibe-edge"]));
      const decision = decideRoute(
        edge,
        request("bookinfo.example.com", "/productpage", { scheme: "https" }),
        Math.random,
      );
      expect(decision.kind === "forward" && decision.cluster.name).toBe(
        "outbound|9080||productpage.default.svc.cluster.local",
      );
      expect(decideRoute(edge, request("reviews:9080", "/reviews/0"), Math.random).kind).toBe("noRoute");
      expect(
        decideRoute(
          tableFor(resources, gateway(["default/other"])),
          request("x", "/productpage"),
          Math.random,
        ).kind,
      ).toBe("noRoute");
    });
  });
}
