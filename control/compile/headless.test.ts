import { describe, expect, it } from "vitest";
import { buildRouteTable, decideRoute, decideTcpRoute } from "../../workers/engine/index.ts";
import { compile } from "./compile.ts";
import { service, sidecar, workloadEntry } from "./test-resources.ts";

const headless = (ports: { name: string; port: number }[]) => ({
  ...service("mysql"),
  spec: { selector: { app: "mysql" }, clusterIP: "None", ports },
});
const pod = (name: string, port: number) => ({
  ...workloadEntry("mysql", "v1", port, { ports: { mysql: port, http: port + 1 } }),
  metadata: { name, namespace: "default" },
});

describe("headless Services: pods addressable one by one", () => {
  const resources = [
    headless([{ name: "mysql", port: 3306 }]),
    pod("mysql-0", 13306),
    pod("mysql-1.east", 23306),
  ];

  it("routes <pod>.<service> names to that pod only, TCP and HTTP alike", () => {
    const table = buildRouteTable(compile(resources, sidecar()).snapshot);
    const tcpTo = (authority: string) => {
      const d = decideTcpRoute(table, { authority }, () => 0);
      if (d.kind !== "forward") return d.kind;
      return d.cluster.originalDestination ? d.cluster.name : d.cluster.endpoints.map((e) => e.port);
    };
    expect(tcpTo("mysql-0.mysql.default.svc.cluster.local:3306")).toEqual([13306]);
    expect(tcpTo("mysql-1.mysql:3306")).toEqual([23306]);
    expect(tcpTo("mysql-1.mysql.default:3306")).toEqual([23306]);
    expect(tcpTo("mysql:3306")).toEqual([13306, 23306]);
    // No such pod: an unknown host, passed through to its original destination (ALLOW_ANY).
    expect(tcpTo("mysql-2.mysql:3306")).toBe("PassthroughCluster");
    const http = decideRoute(
      table,
      { authority: "mysql-1.mysql.default.svc", path: "/", method: "GET", scheme: "http", headers: {} },
      () => 0,
    );
    expect(http.kind === "forward" && http.cluster.name).toBe(
      "outbound|3306||mysql-1.mysql.default.svc.cluster.local",
    );
  });

  it("gives a pod per port when the Service has several, and nothing extra for ClusterIP Services", () => {
    const two = compile(
      [
        headless([
          { name: "mysql", port: 3306 },
          { name: "http", port: 8080 },
        ]),
        pod("mysql-0", 13306),
      ],
      sidecar(),
    ).snapshot;
    expect(two.clusters["outbound|8080||mysql-0.mysql.default.svc.cluster.local"]?.endpoints[0]?.port).toBe(
      13307,
    );
    const plain = compile(
      [
        { ...service("mysql"), spec: { selector: { app: "mysql" }, ports: [{ name: "mysql", port: 3306 }] } },
        pod("mysql-0", 13306),
      ],
      sidecar(),
    ).snapshot;
    expect(Object.keys(plain.clusters)).toEqual([
      "PassthroughCluster",
      "outbound|3306||mysql.default.svc.cluster.local",
    ]);
  });
});
