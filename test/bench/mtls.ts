import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { startIdentityService } from "../../identity/identity-service.ts";
import {
  measurePeers,
  missingMessage,
  type PeerStarter,
  type PeersOutcome,
  renderOutcome,
} from "./data-plane.ts";
import { type BenchMesh, startJibePair } from "./jibe-pair.ts";
import { makePeerCertificates, missingPeerPackages, startHaproxyPair } from "./proxy-peers.ts";

/**
 * The data-plane benchmark with mTLS on the proxy-to-proxy hop: the Jibe pair with SPIFFE
 * certificates from the mesh CA (over the bus), auto-mTLS and PeerAuthentication STRICT, vs an
 * HAProxy pair with the same mutual TLS (ECDSA P-256 certificates from a test CA, `verify
 * required` both ways), same run, same load; direct as the latency baseline.
 */
export async function measureMtls(
  mesh: BenchMesh & { nc: NatsConnection; home: string },
): Promise<PeersOutcome> {
  const missing = await missingPeerPackages();
  if (missing.length > 0) return { skipped: missingMessage(missing) };
  const namespace = "bench-mtls";
  const ca = await startIdentityService({
    nc: mesh.nc,
    home: mesh.home,
    signer: mesh.signer,
    trustJwks: mesh.trustJwks,
  });
  try {
    const jibe: PeerStarter = (ctx) =>
      startJibePair(mesh, ctx.upstreamPort, {
        name: "Jibe mTLS",
        namespace,
        mtls: true,
        bodyBytes: ctx.settings.bodyBytes,
      });
    const haproxy: PeerStarter = async (ctx) =>
      startHaproxyPair(
        join(ctx.dir, "haproxy-mtls"),
        ctx.upstreamPort,
        await makePeerCertificates(join(ctx.dir, "certs")),
      );
    return await measurePeers([
      { name: "direct", start: async () => undefined },
      { name: "Jibe mTLS", start: jibe },
      { name: "HAProxy mTLS", start: haproxy },
    ]);
  } finally {
    await ca.stop();
  }
}

/** The markdown section. */
export function renderMtls(outcome: PeersOutcome): string {
  return [
    "## Data plane with mTLS",
    "",
    "The two-hop pair with mutual TLS between proxy A and proxy B (client and upstream stay plain",
    "HTTP). Jibe: workload certificates (ECDSA P-256 SVIDs) from the mesh CA over the bus,",
    "auto-mTLS to the endpoint labelled `security.istio.io/tlsMode: istio`, PeerAuthentication",
    "STRICT on the server sidecar. HAProxy: `ssl crt … ca-file … verify required` on both sides,",
    "ECDSA P-256 certificates from an openssl test CA. Connections are kept alive, so handshakes",
    "are few; this measures the per-request cost of encryption.",
    "",
    ...renderOutcome(outcome, "Jibe mTLS"),
  ].join("\n");
}
