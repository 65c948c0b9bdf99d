import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clientsOf,
  type EastWestGateway,
  GATEWAY_ID,
  INTERNAL,
  OPTIONAL,
  PINNED,
  RESTRICTED,
  startEastWestGateway,
} from "./test-eastwest.ts";

/**
 * Client certificates at the gateway against real clients (`curl`, `openssl s_client`):
 * ISTIO_MUTUAL (the gateway's mesh certificate, clients of the mesh CA), OPTIONAL_MUTUAL, and
 * MUTUAL with a revocation list and certificate pins.
 */

let fixture: EastWestGateway;
let certs: EastWestGateway["certs"];
let ports: EastWestGateway["ports"];
let gateway: EastWestGateway["gateway"];
let app: EastWestGateway["app"];
let clients: ReturnType<typeof clientsOf>;

beforeAll(async () => {
  fixture = await startEastWestGateway();
  ({ certs, ports, gateway, app } = fixture);
  clients = clientsOf(certs);
}, 60_000);

afterAll(() => fixture?.stop());

describe("ISTIO_MUTUAL (internal / east-west gateway)", () => {
  it("presents the gateway's mesh certificate, which the mesh roots verify", async () => {
    const handshake = await clients.sClient(ports.https, INTERNAL, [
      "-CAfile",
      certs.path("mesh/roots.pem"),
      ...clients.meshClientCertificate(),
    ]);
    expect(handshake.stdout).toContain("Verify return code: 0 (ok)");
    expect(await clients.peerSan(handshake.stdout)).toContain(`URI:${GATEWAY_ID}`);
  });

  it("routes a mesh client's request, and refuses a client without a certificate or with one of another CA", async () => {
    const before = app.requests;
    const admitted = await clients.curl(INTERNAL, ports.https, "/internal", "-k", ...clients.meshClient());
    expect(clients.status(admitted.stdout)).toBe("200");
    expect(admitted.stdout).toContain('"path":"/internal"');
    expect(app.requests).toBe(before + 1);
    // Istio's SANITIZE_SET: the backend learns the verified caller, by the gateway's identity.
    const xfcc = String(app.lastHeaders["x-forwarded-client-cert"]);
    expect(xfcc).toContain(`By=${GATEWAY_ID};Hash=`);
    expect(xfcc).toContain("URI=spiffe://cluster.local/ns/default/sa/client");

    const anonymous = await clients.curl(INTERNAL, ports.https, "/internal", "-k");
    expect(anonymous.code).not.toBe(0);
    const stranger = await clients.curl(
      INTERNAL,
      ports.https,
      "/internal",
      "-k",
      "--cert",
      certs.path("stranger.crt"),
      "--key",
      certs.path("stranger.key"),
    );
    expect(stranger.code).not.toBe(0);
    // A certificate of a CA the user trusts is not a mesh identity.
    const userCa = await clients.curl(
      INTERNAL,
      ports.https,
      "/internal",
      "-k",
      "--cert",
      certs.path("client.crt"),
      "--key",
      certs.path("client.key"),
    );
    expect(userCa.code).not.toBe(0);
    expect(app.requests).toBe(before + 1);
  });

  it("with subjectAltNames, refuses a mesh identity not listed", async () => {
    const other = await clients.curl(RESTRICTED, ports.https, "/", "-k", ...clients.meshClient());
    expect(other.code).not.toBe(0);
    expect(other.stdout).not.toContain("productpage");
  });
});

describe("OPTIONAL_MUTUAL", () => {
  it("serves a client without a certificate and one with a certificate of the CA (CA from <credentialName>-cacert)", async () => {
    // A client's own x-forwarded-client-cert is never trusted.
    const forged = "By=x;URI=spiffe://cluster.local/ns/default/sa/admin";
    const anonymous = await clients.curl(
      OPTIONAL,
      ports.https,
      "/open",
      "--cacert",
      certs.path("ca.crt"),
      "-H",
      `x-forwarded-client-cert: ${forged}`,
    );
    expect(anonymous.stderr).toBe("");
    expect(clients.status(anonymous.stdout)).toBe("200");
    expect(app.lastHeaders["x-forwarded-client-cert"]).toBeUndefined();
    const client = await clients.curl(
      OPTIONAL,
      ports.https,
      "/signed",
      "--cacert",
      certs.path("ca.crt"),
      "--cert",
      certs.path("client.crt"),
      "--key",
      certs.path("client.key"),
    );
    expect(clients.status(client.stdout)).toBe("200");
    expect(client.stdout).toContain('"path":"/signed"');
    expect(app.lastHeaders["x-forwarded-client-cert"]).toMatch(
      /^Hash=[0-9a-f]{64};Cert="-----BEGIN%20CERTIFICATE-----.+";Subject="CN=client";URI=spiffe:\/\/example\.test\/client$/,
    );
  });

  it("refuses a presented certificate that does not verify", async () => {
    const failuresBefore = gateway.stats().connections.handshakeFailures;
    const stranger = await clients.curl(
      OPTIONAL,
      ports.https,
      "/",
      "--cacert",
      certs.path("ca.crt"),
      "--cert",
      certs.path("stranger.crt"),
      "--key",
      certs.path("stranger.key"),
    );
    expect(stranger.code).not.toBe(0);
    expect(stranger.stdout).not.toContain("productpage");
    expect(gateway.stats().connections.handshakeFailures).toBeGreaterThan(failuresBefore);
  });
});

describe("MUTUAL with caCrl and verifyCertificateHash", () => {
  const withCertificate = (name: string) =>
    clients.curl(
      PINNED,
      ports.https,
      `/${name}`,
      "--cacert",
      certs.path("ca.crt"),
      "--cert",
      certs.path(`${name}.crt`),
      "--key",
      certs.path(`${name}.key`),
    );

  it("admits the pinned certificate, refuses a revoked one and one of the same CA not pinned", async () => {
    const pinned = await withCertificate("client");
    expect(clients.status(pinned.stdout)).toBe("200");
    expect(pinned.stdout).toContain('"path":"/client"');
    // Pinned too, but in the CA's revocation list.
    const revoked = await withCertificate("revoked");
    expect(revoked.code).not.toBe(0);
    expect(revoked.stdout).not.toContain("productpage");
    const notPinned = await withCertificate("client2");
    expect(notPinned.code).not.toBe(0);
    expect(notPinned.stdout).not.toContain("productpage");
  });
});
