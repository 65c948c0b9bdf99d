import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { RESPONSE_FLAGS_HEADER } from "../engine/index.ts";
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
 * DNS and NONE resolution, egress scoping, and outboundTrafficPolicy (REGISTRY_ONLY 502 NR,
 * ALLOW_ANY passthrough). "External" services are loopback apps.
 */

let mesh: TestMesh;
let client: Sidecar;
let external: TestApp;
let inMesh: TestApp;
const stops: Array<() => Promise<void>> = [];

const applyAndWait = (...documents: object[]) => mesh.applyAndWait([client], ...documents);
const appOf = (a: Answer) => (JSON.parse(a.body) as { app: string }).app;
const get = (authority: string, path = "/") => call(client.outboundPort, authority, path);

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
