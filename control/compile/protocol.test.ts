import { describe, expect, it } from "vitest";
import { compile } from "./compile.ts";
import {
  inboundListenerProtocol,
  inboundPortProtocol,
  listenerProtocolOf,
  selectPortProtocol,
} from "./protocol.ts";
import { service, sidecar, virtualService, workloadEntry } from "./test-resources.ts";

const MYSQL = "mysql.default.svc.cluster.local";

describe("protocol selection (Istio: appProtocol, else port name <protocol>[-<suffix>])", () => {
  it.each([
    [{ name: "http", port: 80 }, "HTTP"],
    [{ name: "http-web", port: 80 }, "HTTP"],
    [{ name: "HTTP2-api", port: 80 }, "HTTP2"],
    [{ name: "grpc", port: 9000 }, "GRPC"],
    [{ name: "grpc-web", port: 8080 }, "GRPC-Web"],
    [{ name: "grpc-web-ui", port: 8080 }, "GRPC-Web"],
    [{ name: "grpc-internal", port: 9000 }, "GRPC"],
    [{ name: "tcp-db", port: 5432 }, "TCP"],
    [{ name: "mysql", port: 3306 }, "MySQL"],
    [{ name: "mongo-0", port: 27017 }, "Mongo"],
    [{ name: "redis", port: 6379 }, "Redis"],
    [{ name: "tls-passthrough", port: 443 }, "TLS"],
    [{ name: "https", port: 443 }, "HTTPS"],
    [{ name: "web", port: 80 }, "Unsupported"],
    [{ port: 80 }, "Unsupported"],
    [{ name: "httpx", port: 80 }, "Unsupported"],
    [{ name: "dns", port: 53, protocol: "UDP" }, "UDP"],
  ])("%o → %s", (port, expected) => {
    expect(selectPortProtocol(port)).toBe(expected);
  });

  it("prefers appProtocol over the port name, with Kubernetes' prefixed values", () => {
    expect(selectPortProtocol({ name: "http", port: 80, appProtocol: "mysql" })).toBe("MySQL");
    expect(selectPortProtocol({ name: "tcp", port: 80, appProtocol: "kubernetes.io/h2c" })).toBe("HTTP2");
    expect(selectPortProtocol({ name: "tcp", port: 80, appProtocol: "kubernetes.io/ws" })).toBe("HTTP");
    expect(selectPortProtocol({ name: "web", port: 80, appProtocol: "GRPC" })).toBe("GRPC");
    // An appProtocol Istio does not know leaves the decision to the port name.
    expect(selectPortProtocol({ name: "redis", port: 80, appProtocol: "example.com/custom" })).toBe("Redis");
  });

  it("serves undeclared and HTTP-family ports through HTTP, everything else as raw TCP", () => {
    expect(listenerProtocolOf("Unsupported")).toBe("http");
    expect(listenerProtocolOf("GRPC")).toBe("http");
    expect(listenerProtocolOf("MySQL")).toBe("tcp");
    expect(listenerProtocolOf("TLS")).toBe("tcp");
    expect(inboundListenerProtocol(undefined, 9080)).toBe("http");
    expect(inboundListenerProtocol({ 3306: "MySQL" }, 3306)).toBe("tcp");
    expect(inboundListenerProtocol({ 3306: "MySQL" }, 41000)).toBe("tcp");
    expect(inboundListenerProtocol({ 3306: "MySQL", 8080: "HTTP" }, 41000)).toBe("http");
    expect(inboundListenerProtocol({ 3306: "MySQL", 8080: "HTTP" }, 8080)).toBe("http");
    expect(inboundPortProtocol({ 50051: "GRPC" }, 41000)).toBe("GRPC");
    expect(inboundPortProtocol({ 50051: "GRPC", 8080: "HTTP" }, 41000)).toBeUndefined();
    expect(inboundPortProtocol({ 50051: "GRPC", 8080: "HTTP" }, 8080)).toBe("HTTP");
  });
});

describe("compile: protocols in the snapshot", () => {
  const mysql = {
    ...service("mysql"),
    spec: { selector: { app: "mysql" }, ports: [{ name: "tcp-mysql", port: 3306 }] },
  };
  const grpc = {
    ...service("greeter"),
    spec: { selector: { app: "greeter" }, ports: [{ name: "api", port: 50051, appProtocol: "grpc" }] },
  };

  it("marks clusters of declared ports with their protocol and leaves HTTP ones as they were", () => {
    const { snapshot } = compile([mysql, grpc, service("reviews")], sidecar());
    expect(snapshot.clusters[`outbound|3306||${MYSQL}`]?.protocol).toBe("TCP");
    expect(snapshot.clusters["outbound|50051||greeter.default.svc.cluster.local"]?.protocol).toBe("GRPC");
    expect(snapshot.clusters["outbound|9080||reviews.default.svc.cluster.local"]).not.toHaveProperty(
      "protocol",
    );
  });

  it("gives a TCP Service default TCP routes, and VirtualService tcp rules replace them", () => {
    const before = compile([mysql], sidecar()).snapshot;
    const vh = before.virtualHosts.find((v) => v.name === MYSQL);
    expect(vh?.tcpRoutes?.[0]?.action).toEqual({
      kind: "route",
      destinations: [{ cluster: `outbound|3306||${MYSQL}`, weight: 100 }],
    });
    const split = virtualService("mysql", {
      hosts: ["mysql"],
      tcp: [
        {
          match: [{ port: 3306 }],
          route: [
            { destination: { host: "mysql", subset: "v1" }, weight: 80 },
            { destination: { host: "mysql", subset: "v2" }, weight: 20 },
          ],
        },
      ],
    });
    const { snapshot } = compile([mysql, split], sidecar());
    const routes = snapshot.virtualHosts.find((v) => v.name === MYSQL)?.tcpRoutes ?? [];
    expect(routes.map((r) => r.origin)).toEqual(["VirtualService/default/mysql#tcp0"]);
    expect(routes[0]?.match).toEqual([{ port: 3306 }]);
    expect(routes[0]?.action.kind === "route" && routes[0].action.destinations.map((d) => d.weight)).toEqual([
      80, 20,
    ]);
    // HTTP-only hosts carry no TCP routes.
    expect(compile([service("reviews")], sidecar()).snapshot.virtualHosts[0]).not.toHaveProperty("tcpRoutes");
  });

  it("tells a sidecar the protocol of its own Service ports (inbound), only when one is not HTTP", () => {
    const resources = [mysql, workloadEntry("mysql", "v1", 15006), service("reviews")];
    expect(compile(resources, sidecar("mysql")).snapshot.inboundProtocols).toEqual({ 3306: "TCP" });
    expect(compile(resources, sidecar("reviews")).snapshot).not.toHaveProperty("inboundProtocols");
  });
});
