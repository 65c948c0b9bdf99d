import type { X509Certificate } from "node:crypto";
import { TLSSocket } from "node:tls";
import type { Layer } from "../sidecar/proxy-context.ts";

const XFCC = "x-forwarded-client-cert";

/**
 * Envoy's `forward_client_cert_details: SANITIZE_SET`, Istio's default for gateways: a client's own
 * `x-forwarded-client-cert` is never trusted (removed), and when the connection presented a client
 * certificate the handshake verified (MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL) the header is set from
 * it with Istio's details (`Hash`, `Cert`, `Subject`, `URI`, `DNS`; `By` when the gateway's own
 * certificate has a URI SAN), so the backend learns who called.
 *
 * @example
 * ```ts
 * createOutboundPipeline({ ...deps, admitTarget: forwardClientCertDetails() });
 * // x-forwarded-client-cert: By=spiffe://…/sa/eastwest;Hash=…;Cert="…";Subject="CN=client";URI=spiffe://…/sa/client
 * ```
 */
export function forwardClientCertDetails(): Layer {
  return (next) => (ctx) => {
    delete ctx.upstreamHeaders[XFCC];
    const socket = ctx.req.socket;
    if (socket instanceof TLSSocket && socket.authorized) {
      const peer = socket.getPeerX509Certificate();
      if (peer) ctx.upstreamHeaders[XFCC] = clientCertDetails(peer, socket.getX509Certificate());
    }
    return next(ctx);
  };
}

/**
 * One XFCC element in Envoy's format and order: `By`, `Hash` (SHA-256 of the DER, hex), `Cert`
 * (URL-encoded PEM), `Subject` (RFC 2253), one `URI` and one `DNS` per SAN.
 *
 * @example
 * ```ts
 * clientCertDetails(peer); // 'Hash=9f…;Cert="-----BEGIN%20CERTIFICATE…";Subject="CN=client";URI=spiffe://example.test/client'
 * ```
 */
export function clientCertDetails(peer: X509Certificate, local?: X509Certificate): string {
  const sans = (cert: X509Certificate | undefined, kind: "URI" | "DNS") =>
    (cert?.subjectAltName ?? "")
      .split(", ")
      .filter((entry) => entry.startsWith(`${kind}:`))
      .map((entry) => entry.slice(kind.length + 1));
  const by = sans(local, "URI")[0];
  // node:crypto leaves `subject` undefined for an empty one (mesh SVIDs carry only a URI SAN).
  const subject = (peer.subject ?? "").split("\n").reverse().join(",");
  return [
    ...(by ? [`By=${by}`] : []),
    `Hash=${peer.fingerprint256.replace(/:/g, "").toLowerCase()}`,
    `Cert="${encodeURIComponent(peer.toString())}"`,
    `Subject="${subject.replace(/["\\]/g, "\\$&")}"`,
    ...sans(peer, "URI").map((uri) => `URI=${uri}`),
    ...sans(peer, "DNS").map((dns) => `DNS=${dns}`),
  ].join(";");
}
