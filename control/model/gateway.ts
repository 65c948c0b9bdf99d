import { z } from "zod";
import type { ResourceMetadata } from "../../broker/events.ts";
import type { Reporter } from "./diagnostics.ts";
import { checkLabels, stringMapSchema } from "./istio-fields.ts";
import { checkNamespacedHost } from "./namespaced-host.ts";
import { checkIstioPort, istioPortSchema } from "./service-entry.ts";

const TLS_MODES = [
  "PASSTHROUGH",
  "SIMPLE",
  "MUTUAL",
  "AUTO_PASSTHROUGH",
  "ISTIO_MUTUAL",
  "OPTIONAL_MUTUAL",
] as const;

const serverTlsSchema = z.strictObject({
  httpsRedirect: z.boolean().optional(),
  mode: z.enum(TLS_MODES).optional(),
  serverCertificate: z.string().optional(),
  privateKey: z.string().optional(),
  caCertificates: z.string().optional(),
  caCrl: z.string().optional(),
  credentialName: z.string().optional(),
  credentialNames: z.array(z.string()).optional(),
  tlsCertificates: z.array(z.record(z.string(), z.unknown())).optional(),
  subjectAltNames: z.array(z.string()).optional(),
  verifyCertificateSpki: z.array(z.string()).optional(),
  verifyCertificateHash: z.array(z.string()).optional(),
  minProtocolVersion: z.enum(["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"]).optional(),
  maxProtocolVersion: z.enum(["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"]).optional(),
  cipherSuites: z.array(z.string()).optional(),
});

export const gatewayServerSchema = z.strictObject({
  port: istioPortSchema,
  bind: z.string().optional(),
  hosts: z.array(z.string()).optional(),
  tls: serverTlsSchema.optional(),
  defaultEndpoint: z.string().optional(),
  name: z.string().optional(),
});
export type GatewayServer = z.infer<typeof gatewayServerSchema>;

/**
 * `networking.istio.io` Gateway spec (https://istio.io/latest/docs/reference/config/networking/gateway/).
 * Not the Gateway API's `gateway.networking.k8s.io` Gateway, which is another kind.
 */
export const gatewaySpecSchema = z.strictObject({
  selector: stringMapSchema.optional(),
  servers: z.array(gatewayServerSchema).optional(),
});

/** A validated Istio Gateway spec. */
export type GatewaySpec = z.infer<typeof gatewaySpecSchema>;

const TLS_PROTOCOLS = new Set(["HTTPS", "TLS"]);

/**
 * Istio's rules for a Gateway (ValidateGateway): at least one server; each server has hosts of the
 * form `[namespace/]dnsName`, a port with a protocol, unique port names; HTTPS and TLS servers have
 * TLS settings (SIMPLE/MUTUAL with a credential, MUTUAL with CA certificates, PASSTHROUGH only on
 * TLS ports); plain HTTP servers have none but `httpsRedirect`.
 *
 * @example
 * ```ts
 * checkGateway({ servers: [] }, report); // error at spec.servers
 * ```
 */
export function checkGateway(spec: GatewaySpec, report: Reporter, _metadata?: ResourceMetadata): void {
  checkLabels(spec.selector, ["spec", "selector"], report);
  const servers = spec.servers ?? [];
  if (servers.length === 0)
    report.error(
      "JIBE1012",
      ["spec", "servers"],
      'a Gateway needs servers; add servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]',
    );
  const portNames = new Map<string, number>();
  servers.forEach((server, i) => {
    const at = ["spec", "servers", i] as const;
    if (!server.hosts?.length)
      report.error(
        "JIBE1012",
        [...at, "hosts"],
        'a server needs hosts, e.g. ["bookinfo.example.com"] or ["*"]',
      );
    for (const [j, host] of (server.hosts ?? []).entries())
      checkNamespacedHost(host, [...at, "hosts", j], report, { requireNamespace: false });
    checkIstioPort(server.port, [...at, "port"], report, { nameRequired: true });
    if (server.port.targetPort !== undefined)
      report.error(
        "JIBE1013",
        [...at, "port", "targetPort"],
        "targetPort has no effect on a Gateway server; remove it",
      );
    const protocol = server.port.protocol?.toUpperCase();
    if (protocol === undefined)
      report.error("JIBE1012", [...at, "port", "protocol"], "protocol is required, e.g. HTTP or HTTPS");
    const name = server.port.name;
    if (name) {
      const first = portNames.get(name);
      if (first !== undefined)
        report.error(
          "JIBE1018",
          [...at, "port", "name"],
          `port name "${name}" is already used by servers[${first}]; server port names must be unique`,
        );
      else portNames.set(name, i);
    }
    checkServerTls(server, protocol, report, at);
  });
}

function checkServerTls(
  server: GatewayServer,
  protocol: string | undefined,
  report: Reporter,
  at: readonly (string | number)[],
): void {
  const tls = server.tls;
  const path = [...at, "tls"];
  if (protocol && TLS_PROTOCOLS.has(protocol)) {
    if (!tls?.mode) {
      report.error(
        "JIBE1012",
        [...path, "mode"],
        `a ${protocol} server needs tls settings; set tls.mode, e.g. SIMPLE with a credentialName`,
      );
      return;
    }
  } else if (tls) {
    const extra = Object.keys(tls).filter((k) => k !== "httpsRedirect");
    if (extra.length > 0)
      report.error(
        "JIBE1022",
        [...path, extra[0]!],
        `a plain ${protocol ?? "HTTP"} server cannot have TLS settings (only httpsRedirect); use protocol HTTPS for TLS`,
      );
    return;
  }
  if (!tls?.mode) return;
  const credential = tls.credentialName || tls.credentialNames?.length || tls.tlsCertificates?.length;
  if (tls.mode === "SIMPLE" || tls.mode === "MUTUAL" || tls.mode === "OPTIONAL_MUTUAL") {
    if (!credential) {
      if (!tls.serverCertificate)
        report.error(
          "JIBE1012",
          [...path, "credentialName"],
          `${tls.mode} TLS needs a certificate; set credentialName (a Secret) or serverCertificate and privateKey`,
        );
      else if (!tls.privateKey)
        report.error(
          "JIBE1012",
          [...path, "privateKey"],
          `${tls.mode} TLS needs privateKey with serverCertificate`,
        );
      if (tls.mode !== "SIMPLE" && !tls.caCertificates)
        report.error(
          "JIBE1012",
          [...path, "caCertificates"],
          `${tls.mode} TLS needs caCertificates to verify clients (or a credentialName with ca.crt)`,
        );
    }
  }
  if ((tls.mode === "PASSTHROUGH" || tls.mode === "AUTO_PASSTHROUGH") && protocol !== "TLS")
    report.error(
      "JIBE1022",
      [...path, "mode"],
      `tls mode ${tls.mode} forwards encrypted traffic untouched, so the server port protocol must be TLS (not ${protocol})`,
    );
}
