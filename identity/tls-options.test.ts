import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { connect, createServer, type TLSSocket } from "node:tls";
import { describe, expect, it } from "vitest";
import { loadCertificateAuthority } from "./certificate-authority.ts";
import { generateCaMaterial } from "./generate-ca.ts";
import { createCertificateIssuer } from "./issuer.ts";
import { startRotationClient, type WorkloadCredentials } from "./rotation-client.ts";
import { peerSpiffeId, tlsOptionsFrom } from "./tls-options.ts";

/** An in-process CA that grants whatever the token names: "ns/sa". */
async function meshIssuer() {
  const now = Date.now();
  const { material } = await generateCaMaterial({ trustDomain: "cluster.local", now, crypto });
  const ca = await loadCertificateAuthority(material, { trustDomain: "cluster.local", now, crypto });
  const authenticator = {
    authenticate: async (credential: { token: string }) => {
      const [namespace = "", serviceAccount = ""] = credential.token.split("/");
      return { ok: true as const, grant: { trustDomain: "cluster.local", namespace, serviceAccount } };
    },
  };
  return createCertificateIssuer({ ca, authenticator, crypto });
}

async function workload(
  issuer: Awaited<ReturnType<typeof meshIssuer>>,
  ns: string,
  sa: string,
): Promise<WorkloadCredentials> {
  const client = startRotationClient({
    spiffeId: `spiffe://cluster.local/ns/${ns}/sa/${sa}`,
    crypto,
    fetch: (csr) => issuer.issue({ v: 1, csr, credential: { type: "join-token", token: `${ns}/${sa}` } }),
  });
  const credentials = await client.ready;
  client.stop();
  return credentials;
}

describe("node:tls options from workload credentials (the sidecar mTLS interface)", () => {
  it("lets two mesh workloads do mutual TLS and see each other's SPIFFE ID; a foreign CA's workload is refused", async () => {
    const issuer = await meshIssuer();
    const server = await workload(issuer, "default", "reviews");
    const client = await workload(issuer, "default", "productpage");
    const stranger = await workload(await meshIssuer(), "default", "productpage");

    const peers: (string | undefined)[] = [];
    const tlsServer = createServer(
      { ...tlsOptionsFrom(server), requestCert: true, rejectUnauthorized: true },
      (socket) => {
        peers.push(peerSpiffeId(socket.getPeerX509Certificate()));
        socket.end("hello");
      },
    );
    tlsServer.on("tlsClientError", () => {});
    tlsServer.listen(0, "127.0.0.1");
    await once(tlsServer, "listening");
    const port = (tlsServer.address() as AddressInfo).port;
    const dial = (creds: WorkloadCredentials) =>
      new Promise<{ ok: boolean; serverId?: string | undefined; error?: string }>((resolve) => {
        const socket: TLSSocket = connect(
          { ...tlsOptionsFrom(creds), host: "127.0.0.1", port, checkServerIdentity: () => undefined },
          () => {
            const serverId = peerSpiffeId(socket.getPeerX509Certificate());
            socket.once("data", () => {
              socket.end();
              resolve({ ok: true, serverId });
            });
          },
        );
        socket.on("error", (err) => resolve({ ok: false, error: err.message }));
      });

    const good = await dial(client);
    expect(good).toMatchObject({ ok: true, serverId: "spiffe://cluster.local/ns/default/sa/reviews" });
    expect(peers).toEqual(["spiffe://cluster.local/ns/default/sa/productpage"]);
    const bad = await dial(stranger);
    expect(bad.ok).toBe(false); // the stranger does not trust our server's chain either
    expect(peers).toHaveLength(1);
    tlsServer.close();
  });
});
