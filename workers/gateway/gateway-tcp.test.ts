import { connect as netConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../sidecar/test-mesh.ts";
import {
  clientsOf,
  DB_SNI,
  type EastWestGateway,
  ECHO,
  MESH_ECHO,
  startEastWestGateway,
} from "./test-eastwest.ts";

/**
 * L4 servers of the gateway against real clients (`openssl s_client`, a TCP socket): TLS terminated
 * at the gateway and forwarded with a VirtualService `tcp` route (`credentialNames` with an RSA and
 * an ECDSA certificate, ISTIO_MUTUAL), plain TCP servers (server-first), a TCP server beside TLS
 * servers on one port, and AUTO_PASSTHROUGH by SNI.
 */

let fixture: EastWestGateway;
let certs: EastWestGateway["certs"];
let ports: EastWestGateway["ports"];
let gateway: EastWestGateway["gateway"];
let clients: ReturnType<typeof clientsOf>;

beforeAll(async () => {
  fixture = await startEastWestGateway();
  ({ certs, ports, gateway } = fixture);
  clients = clientsOf(certs);
}, 60_000);

afterAll(() => fixture?.stop());

describe("TLS terminated at the gateway, forwarded as TCP", () => {
  it("SIMPLE with credentialNames: the RSA or the ECDSA certificate by the client's signature algorithms", async () => {
    const rsa = await clients.sClient(ports.tls, ECHO, [
      "-CAfile",
      certs.path("ca.crt"),
      "-sigalgs",
      "rsa_pss_rsae_sha256:RSA+SHA256",
    ]);
    expect(rsa.stdout).toContain("Verify return code: 0 (ok)");
    expect(rsa.stdout).toMatch(/Server public key is 2048 bit/);
    const ecdsa = await clients.sClient(ports.tls, ECHO, [
      "-CAfile",
      certs.path("ca.crt"),
      "-sigalgs",
      "ECDSA+SHA256",
    ]);
    expect(ecdsa.stdout).toContain("Verify return code: 0 (ok)");
    expect(ecdsa.stdout).toMatch(/Server public key is 256 bit/);
  });

  it("forwards the decrypted bytes to the tcp route's destination, and its answer back", async () => {
    const tcpBefore = gateway.stats().connections.tcp;
    const answer = await clients.sClient(
      ports.tls,
      ECHO,
      ["-quiet", "-ign_eof", "-CAfile", certs.path("ca.crt"), "-verify_return_error"],
      "ping\n",
    );
    expect(answer.stdout).toContain("hello from echo");
    expect(answer.stdout).toContain("echo: ping");
    expect(gateway.stats().connections.tcp).toBeGreaterThan(tcpBefore);
  });

  it("ISTIO_MUTUAL on a TLS server: a mesh client's bytes reach the tcp route, an anonymous client's do not", async () => {
    const answer = await clients.sClient(
      ports.tls,
      MESH_ECHO,
      [
        "-quiet",
        "-ign_eof",
        "-CAfile",
        certs.path("mesh/roots.pem"),
        "-verify_return_error",
        ...clients.meshClientCertificate(),
      ],
      "from the mesh\n",
    );
    expect(answer.stdout, answer.stderr).toContain("hello from echo");
    expect(answer.stdout).toContain("echo: from the mesh");
    const anonymous = await clients.sClient(ports.tls, MESH_ECHO, ["-quiet", "-ign_eof"], "anyone\n");
    expect(anonymous.stdout).not.toContain("echo:");
  });
});

describe("TCP server", () => {
  it("forwards at once, so a server-first protocol greets before the client sends anything", async () => {
    const socket = netConnect({ host: "127.0.0.1", port: ports.tcp });
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString();
    });
    await waitFor(() => received.includes("hello from echo"), 5_000, "greeting");
    socket.write("plain\n");
    await waitFor(() => received.includes("echo: plain"), 5_000, "echo");
    // The service closes after its answer; the gateway closes the client's side too.
    await closed;
  });
});

describe("TCP server beside TLS servers on one port", () => {
  it("takes connections that are not TLS, while TLS ones still go to the server their SNI names", async () => {
    const socket = netConnect({ host: "127.0.0.1", port: ports.tls });
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString();
    });
    // Client-first here: the gateway reads the first bytes to tell TLS from plain TCP.
    socket.write("not tls\n");
    await closed;
    expect(received).toContain("hello from echo");
    expect(received).toContain("echo: not tls");
    const tls = await clients.sClient(ports.tls, ECHO, ["-CAfile", certs.path("ca.crt")]);
    expect(tls.stdout).toContain("Verify return code: 0 (ok)");
  });
});

describe("AUTO_PASSTHROUGH (multi-network east-west gateway)", () => {
  it("routes an outbound_.<port>_.<subset>_.<host> SNI to that cluster without a VirtualService", async () => {
    const handshake = await clients.sClient(ports.auto, DB_SNI, ["-CAfile", certs.path("backend-ca.crt")]);
    // The client handshakes with the backend itself.
    expect(handshake.stdout).toMatch(/subject=CN ?= ?db\.default\.svc\.cluster\.local/);
    expect(handshake.stdout).toContain("Verify return code: 0 (ok)");
    const answer = await clients.sClient(
      ports.auto,
      DB_SNI,
      ["-quiet", "-ign_eof"],
      "GET / HTTP/1.1\r\nHost: db\r\nConnection: close\r\n\r\n",
    );
    expect(answer.stdout).toContain("answered by the backend's own TLS server");
  });

  it("closes connections for another SNI form, an unknown cluster, or a host outside the server's hosts", async () => {
    for (const sni of [
      "db.default.svc.cluster.local",
      "outbound_.444_._.db.default.svc.cluster.local",
      "outbound_.443_._.db.example.org",
    ]) {
      const refused = await clients.sClient(ports.auto, sni);
      expect(refused.stdout, sni).not.toContain("BEGIN CERTIFICATE");
    }
  });
});
