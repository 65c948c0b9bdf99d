import { once } from "node:events";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { RESPONSE_FLAGS_HEADER, ROUTE_HEADER } from "../engine/index.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import {
  type Answer,
  call,
  service,
  startTestApp,
  startTestMesh,
  type TestApp,
  type TestMesh,
  workloadEntry,
} from "./test-mesh.ts";

/**
 * ServiceEntry and Sidecar on a real sidecar: hosts outside Kubernetes reached through STATIC,
 * DNS and NONE resolution, egress scoping, and outboundTrafficPolicy (Istio's default ALLOW_ANY
 * passthrough, REGISTRY_ONLY 502 NR), for HTTP and CONNECT tunnels. "External" services are
 * loopback apps no Service names.
 */

let mesh: TestMesh;
let client: Sidecar;
let external: TestApp;
let inMesh: TestApp;
/** Port of a server-first TCP app outside the registry: greets, then echoes upper-cased. */
let externalTcp: number;
const stops: Array<() => Promise<void>> = [];

const applyAndWait = (...documents: object[]) => mesh.applyAndWait([client], ...documents);
const appOf = (a: Answer) => (JSON.parse(a.body) as { app: string }).app;
const get = (authority: string, path = "/") => call(client.outboundPort, authority, path);

/** CONNECT through the outbound listener: the status, its flag, and the first bytes of the tunnel. */
function tunnel(
  authority: string,
): Promise<{ status: number; flag: unknown; greeting: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port: client.outboundPort,
      method: "CONNECT",
      path: authority,
    });
    req.once("connect", (res: IncomingMessage, socket: Socket, head: Buffer) => {
      const done = (greeting: string) =>
        resolve({ status: res.statusCode ?? 0, flag: res.headers[RESPONSE_FLAGS_HEADER], greeting, socket });
      if (res.statusCode !== 200 || head.length > 0) return done(head.toString());
      socket.once("data", (chunk: Buffer) => done(chunk.toString()));
    });
    req.once("error", reject);
    req.end();
  });
}

function serviceEntry(name: string, spec: object): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "ServiceEntry",
    metadata: { name, namespace: "default" },
    spec,
  };
}
function sidecarResource(spec: object): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "Sidecar",
    metadata: { name: "default", namespace: "default" },
    spec,
  };
}

beforeAll(async () => {
  mesh = await startTestMesh();
  external = await startTestApp("external");
  inMesh = await startTestApp("echo");
  const tcp = createTcpServer((socket) => {
    socket.on("error", () => {});
    socket.write("HELLO external\n");
    socket.on("data", (chunk) => socket.write(chunk.toString().toUpperCase()));
  });
  tcp.listen(0, "127.0.0.1");
  await once(tcp, "listening");
  externalTcp = (tcp.address() as AddressInfo).port;
  stops.push(() => new Promise<void>((resolve) => tcp.close(() => resolve())));
  const self = await startTestApp("client");
  stops.push(
    () => external.stop(),
    () => inMesh.stop(),
    () => self.stop(),
  );
  client = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: "sidecar~client~default", role: "sidecar", namespace: "default", labels: { app: "client" } },
    appPort: self.port,
    log: silentLogger,
  });
  stops.push(() => client.stop());
  await applyAndWait(service("echo"), workloadEntry("echo", { app: "echo" }, inMesh.port));
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
});

// First: no Sidecar resource and no mesh config exist yet.
describe("sidecar: Istio's default outbound policy (no Sidecar, no mesh config)", () => {
  it("ALLOW_ANY: a request for a host outside the registry reaches its original destination", async () => {
    const answer = await get(`127.0.0.1:${external.port}`, "/outside");
    expect([answer.status, appOf(answer)]).toEqual([200, "external"]);
    expect(answer.headers[ROUTE_HEADER]).toBe("MeshConfig/default#outboundTrafficPolicy");
    expect(answer.headers[RESPONSE_FLAGS_HEADER]).toBeUndefined();
    expect(external.lastHeaders.host).toBe(`127.0.0.1:${external.port}`);
    // Registry hosts still route to their endpoints, not to the address they were sent to.
    expect(appOf(await get("echo:9080"))).toBe("echo");
    expect(await client.metrics()).toMatch(
      /istio_requests_total\{[^}]*destination_service_name="PassthroughCluster"[^}]*response_code="200"/,
    );
  });

  it("ALLOW_ANY: a request addressed to the sidecar's own outbound listener is refused, not looped", async () => {
    for (const host of ["127.0.0.1", "localhost"]) {
      const answer = await get(`${host}:${client.outboundPort}`);
      expect([answer.status, answer.headers[RESPONSE_FLAGS_HEADER]]).toEqual([502, "NR"]);
      expect(answer.body).toContain("would loop");
    }
  });

  it("ALLOW_ANY: a CONNECT tunnel to a destination outside the registry reaches it", async () => {
    const { status, greeting, socket } = await tunnel(`127.0.0.1:${externalTcp}`);
    expect([status, greeting]).toEqual([200, "HELLO external\n"]);
    socket.write("ping");
    const [echoed] = (await once(socket, "data")) as [Buffer];
    expect(echoed.toString()).toBe("PING");
    socket.destroy();
  });
});

describe("sidecar: ServiceEntry", () => {
  it("STATIC: a request for the entry's host reaches its endpoint (targetPort by port name)", async () => {
    await applyAndWait(
      serviceEntry("payments", {
        hosts: ["payments.external.test"],
        ports: [{ number: 80, name: "http", protocol: "HTTP" }],
        resolution: "STATIC",
        location: "MESH_EXTERNAL",
        endpoints: [{ address: "127.0.0.1", ports: { http: external.port } }],
      }),
    );
    const answer = await get("payments.external.test", "/charge");
    expect([answer.status, appOf(answer)]).toEqual([200, "external"]);
  });

  it("DNS: the endpoint's host name is resolved when the proxy connects", async () => {
    await applyAndWait(
      serviceEntry("ledger", {
        hosts: ["ledger.external.test"],
        ports: [{ number: 80, name: "http", protocol: "HTTP" }],
        resolution: "DNS",
        endpoints: [{ address: "localhost", ports: { http: external.port } }],
      }),
    );
    const answer = await get("ledger.external.test");
    expect([answer.status, appOf(answer)]).toEqual([200, "external"]);
  });

  it("NONE: the request goes to the host and port it was addressed to", async () => {
    await applyAndWait(
      serviceEntry("loopback", {
        hosts: ["localhost"],
        ports: [{ number: external.port, name: "http", protocol: "HTTP" }],
        resolution: "NONE",
      }),
    );
    const answer = await get(`localhost:${external.port}`);
    expect([answer.status, appOf(answer)]).toEqual([200, "external"]);
  });
});

describe("sidecar: Sidecar resource", () => {
  it("REGISTRY_ONLY: an unknown host gets 502 NR; ALLOW_ANY passes it through to its original host", async () => {
    await applyAndWait(sidecarResource({ outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } }));
    const blocked = await get(`127.0.0.1:${external.port}`);
    expect([blocked.status, blocked.headers[RESPONSE_FLAGS_HEADER]]).toEqual([502, "NR"]);
    expect(appOf(await get("echo:9080"))).toBe("echo");
    const tunnelled = await tunnel(`127.0.0.1:${externalTcp}`);
    tunnelled.socket.destroy();
    expect([tunnelled.status, tunnelled.flag]).toEqual([502, "NR"]);

    await applyAndWait(sidecarResource({ outboundTrafficPolicy: { mode: "ALLOW_ANY" } }));
    const passed = await get(`127.0.0.1:${external.port}`, "/anything");
    expect([passed.status, appOf(passed)]).toEqual([200, "external"]);
  });

  it("egress hosts hide services the Sidecar does not list", async () => {
    await applyAndWait(
      sidecarResource({
        egress: [{ hosts: ["./payments.external.test"] }],
        outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
      }),
    );
    const hidden = await get("echo:9080");
    expect([hidden.status, hidden.headers[RESPONSE_FLAGS_HEADER]]).toEqual([502, "NR"]);
    expect(appOf(await get("payments.external.test"))).toBe("external");
  });
});
