import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { promisify } from "node:util";
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
  type TestMesh,
  workloadEntry,
} from "./test-mesh.ts";

/**
 * DestinationRule `trafficPolicy.tls` SIMPLE / MUTUAL / DISABLE against a real TLS upstream
 * (node:https) with certificates made by openssl: chain verification against `caCertificates`,
 * `sni`, `subjectAltNames`, `insecureSkipVerify`, client certificates from files.
 */

const run = promisify(execFile);
let mesh: TestMesh;
let dir: string;
let sidecar: Sidecar;
let simple: { server: Server; port: number; seen: { sni?: string; clientCn?: string }[] };
let mutual: { server: Server; port: number; seen: { sni?: string; clientCn?: string }[] };
const stops: Array<() => Promise<void> | void> = [];

/** A CA, a server certificate (`api.example.test`, IP 127.0.0.1) and a client certificate, by openssl. */
async function makeCertificates(): Promise<void> {
  const sh = (script: string) => run("sh", ["-c", script], { cwd: dir });
  await sh(
    [
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=test-ca",
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca-key.pem -out other-ca.pem -days 2 -subj /CN=other-ca",
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server-key.pem -out server.csr -subj /CN=api.example.test",
      "printf 'subjectAltName=DNS:api.example.test,IP:127.0.0.1\\n' > server.ext",
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 2 -extfile server.ext",
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client-key.pem -out client.csr -subj /CN=jibe-client",
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out client.pem -days 2",
    ].join(" && "),
  );
}

async function startUpstream(requireClientCert: boolean) {
  const seen: { sni?: string; clientCn?: string }[] = [];
  const server = createServer(
    {
      cert: await readFile(join(dir, "server.pem")),
      key: await readFile(join(dir, "server-key.pem")),
      ...(requireClientCert
        ? { ca: await readFile(join(dir, "ca.pem")), requestCert: true, rejectUnauthorized: true }
        : {}),
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const sni = (socket as TLSSocket & { servername?: string | false }).servername;
      seen.push({
        ...(sni ? { sni } : {}),
        ...(requireClientCert ? { clientCn: String(socket.getPeerCertificate().subject?.CN) } : {}),
      });
      res.writeHead(200, { "content-type": "text/plain" }).end(`tls upstream ${req.url}`);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { server, port: (server.address() as AddressInfo).port, seen };
}

function destinationRule(host: string, tls: object): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: host, namespace: "default" },
    spec: { host, trafficPolicy: { tls } },
  };
}

const file = (name: string) => join(dir, name);
/** Response flags (after the default retries a connect failure reads `UF,URX`). */
const flagsOf = (answer: Answer) => String(answer.headers[RESPONSE_FLAGS_HEADER] ?? "").split(",");

beforeAll(async () => {
  mesh = await startTestMesh();
  dir = await mkdtemp(join(tmpdir(), "jibe-dr-tls-"));
  await makeCertificates();
  simple = await startUpstream(false);
  mutual = await startUpstream(true);
  const app = await startTestApp("caller");
  stops.push(() => app.stop());
  sidecar = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: "sidecar~caller~default", role: "sidecar", namespace: "default", labels: { app: "caller" } },
    appPort: app.port,
    log: silentLogger,
  });
  stops.push(() => sidecar.stop());
  await mesh.applyAndWait(
    [sidecar],
    service("api", 443),
    workloadEntry("api", { app: "api" }, simple.port),
    service("mtls-api", 443),
    workloadEntry("mtls-api", { app: "mtls-api" }, mutual.port),
  );
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("DestinationRule tls SIMPLE: the sidecar originates TLS to the upstream", () => {
  it("verifies the server against caCertificates and sends the configured SNI", async () => {
    await mesh.applyAndWait(
      [sidecar],
      destinationRule("api", { mode: "SIMPLE", caCertificates: file("ca.pem"), sni: "api.example.test" }),
    );
    const answer = await call(sidecar.outboundPort, "api:443", "/simple");
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("tls upstream /simple");
    expect(simple.seen.at(-1)?.sni).toBe("api.example.test");
  });

  it("accepts a server certificate carrying one of subjectAltNames", async () => {
    await mesh.applyAndWait(
      [sidecar],
      destinationRule("api", {
        mode: "SIMPLE",
        caCertificates: file("ca.pem"),
        subjectAltNames: ["other.example.test", "api.example.test"],
      }),
    );
    expect((await call(sidecar.outboundPort, "api:443", "/san")).status).toBe(200);
  });

  it("refuses a server whose certificate matches no subjectAltName: 503 UF", async () => {
    await mesh.applyAndWait(
      [sidecar],
      destinationRule("api", {
        mode: "SIMPLE",
        caCertificates: file("ca.pem"),
        subjectAltNames: ["billing.example.test"],
      }),
    );
    const before = simple.seen.length;
    const refused = await call(sidecar.outboundPort, "api:443", "/mismatch");
    expect(refused.status).toBe(503);
    expect(flagsOf(refused)).toContain("UF");
    expect(simple.seen.length).toBe(before);
  });

  it("refuses a server that does not chain to caCertificates, unless insecureSkipVerify", async () => {
    await mesh.applyAndWait(
      [sidecar],
      destinationRule("api", {
        mode: "SIMPLE",
        caCertificates: file("other-ca.pem"),
        sni: "api.example.test",
      }),
    );
    const refused = await call(sidecar.outboundPort, "api:443", "/foreign");
    expect(refused.status).toBe(503);
    expect(flagsOf(refused)).toContain("UF");

    await mesh.applyAndWait(
      [sidecar],
      destinationRule("api", {
        mode: "SIMPLE",
        caCertificates: file("other-ca.pem"),
        insecureSkipVerify: true,
      }),
    );
    expect((await call(sidecar.outboundPort, "api:443", "/insecure")).status).toBe(200);
  });

  it("refuses a wrong SNI name when no subjectAltNames are given (hostname verification)", async () => {
    await mesh.applyAndWait(
      [sidecar],
      destinationRule("api", { mode: "SIMPLE", caCertificates: file("ca.pem"), sni: "evil.example.test" }),
    );
    const refused = await call(sidecar.outboundPort, "api:443", "/wrong-sni");
    expect(refused.status).toBe(503);
    expect(flagsOf(refused)).toContain("UF");
  });

  it("DISABLE sends plaintext, which a TLS server does not answer with HTTP", async () => {
    await mesh.applyAndWait([sidecar], destinationRule("api", { mode: "DISABLE" }));
    const answer = await call(sidecar.outboundPort, "api:443", "/plain");
    expect(answer.status).not.toBe(200);
  });
});

describe("DestinationRule tls MUTUAL: client certificate from files", () => {
  it("presents clientCertificate/privateKey to a server that requires a client certificate", async () => {
    await mesh.applyAndWait(
      [sidecar],
      destinationRule("mtls-api", {
        mode: "MUTUAL",
        clientCertificate: file("client.pem"),
        privateKey: file("client-key.pem"),
        caCertificates: file("ca.pem"),
        sni: "api.example.test",
      }),
    );
    const answer = await call(sidecar.outboundPort, "mtls-api:443", "/mutual");
    expect(answer.status).toBe(200);
    expect(mutual.seen.at(-1)).toEqual({ sni: "api.example.test", clientCn: "jibe-client" });
  });

  it("fails closed (503 UF) when the client certificate files are missing or only credentialName is given", async () => {
    await mesh.applyAndWait(
      [sidecar],
      destinationRule("mtls-api", {
        mode: "MUTUAL",
        clientCertificate: file("missing.pem"),
        privateKey: file("client-key.pem"),
        caCertificates: file("ca.pem"),
      }),
    );
    const missing = await call(sidecar.outboundPort, "mtls-api:443", "/missing");
    expect(missing.status).toBe(503);
    expect(flagsOf(missing)).toContain("UF");
    expect(missing.body).toContain("tls.clientCertificate");

    await mesh.applyAndWait(
      [sidecar],
      destinationRule("mtls-api", { mode: "MUTUAL", credentialName: "api-client-cert" }),
    );
    const secretOnly = await call(sidecar.outboundPort, "mtls-api:443", "/secret");
    expect(secretOnly.status).toBe(503);
    expect(secretOnly.body).toContain("credentialName");
  });
});
