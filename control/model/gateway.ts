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
 * TLS settings (validateTLSOptions: SIMPLE / MUTUAL / OPTIONAL_MUTUAL with exactly one certificate
 * source, the mutual modes with a client CA; ISTIO_MUTUAL with no certificate field at all;
 * PASSTHROUGH / AUTO_PASSTHROUGH only on TLS ports; `caCrl` neither with `credentialName` nor
 * with SIMPLE); plain HTTP and TCP servers have none but `httpsRedirect`.
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
  if (tls.httpsRedirect && protocol !== "HTTP")
    report.warn(
      "JIBE1013",
      [...path, "httpsRedirect"],
      `httpsRedirect only applies to plain HTTP servers; remove it from this ${protocol} server`,
    );
  switch (tls.mode) {
    case "ISTIO_MUTUAL":
      checkIstioMutual(tls, path, report);
      return;
    case "PASSTHROUGH":
    case "AUTO_PASSTHROUGH":
      checkPassthrough(tls, protocol, path, report);
      return;
    case "SIMPLE":
    case "MUTUAL":
    case "OPTIONAL_MUTUAL":
      checkTerminating(tls, tls.mode, path, report);
      return;
    default: {
      const unknown: never = tls.mode;
      throw new Error(`unknown tls mode ${String(unknown)}`);
    }
  }
}

type ServerTls = NonNullable<GatewayServer["tls"]>;

/** Certificate fields ISTIO_MUTUAL and the passthrough modes have no use for. */
const CERTIFICATE_FIELDS = [
  "serverCertificate",
  "privateKey",
  "caCertificates",
  "tlsCertificates",
  "credentialName",
  "credentialNames",
] as const;

function isSet(tls: ServerTls, field: keyof ServerTls): boolean {
  const value = tls[field];
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== "";
}

/** ISTIO_MUTUAL: the gateway's own mesh certificate and the mesh CA; no other certificate source. */
function checkIstioMutual(tls: ServerTls, path: readonly (string | number)[], report: Reporter): void {
  for (const field of CERTIFICATE_FIELDS)
    if (isSet(tls, field))
      report.error(
        "JIBE1022",
        [...path, field],
        `ISTIO_MUTUAL TLS cannot have ${field}: it presents the gateway's mesh certificate (its SPIFFE identity) and verifies clients against the mesh CA; remove ${field}, or use mode MUTUAL to serve your own certificate`,
      );
}

function checkPassthrough(
  tls: ServerTls,
  protocol: string | undefined,
  path: readonly (string | number)[],
  report: Reporter,
): void {
  if (protocol !== "TLS")
    report.error(
      "JIBE1022",
      [...path, "mode"],
      `tls mode ${tls.mode} forwards encrypted traffic untouched, so the server port protocol must be TLS (not ${protocol})`,
    );
  const unused = [...CERTIFICATE_FIELDS, "caCrl" as const].filter((field) => isSet(tls, field));
  if (unused.length > 0)
    report.warn(
      "JIBE1013",
      [...path, unused[0]!],
      `${tls.mode} mode does not use certificates (the backend terminates TLS); ${unused.join(", ")} ${unused.length > 1 ? "are" : "is"} ignored: remove ${unused.length > 1 ? "them" : "it"}`,
    );
}

/** SIMPLE, MUTUAL and OPTIONAL_MUTUAL: exactly one certificate source; the mutual modes a client CA. */
function checkTerminating(
  tls: ServerTls,
  mode: "SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL",
  path: readonly (string | number)[],
  report: Reporter,
): void {
  const sources = (
    [
      ["serverCertificate", isSet(tls, "serverCertificate") && isSet(tls, "privateKey")],
      ["credentialName", isSet(tls, "credentialName")],
      ["credentialNames", isSet(tls, "credentialNames")],
      ["tlsCertificates", isSet(tls, "tlsCertificates")],
    ] as const
  )
    .filter(([, set]) => set)
    .map(([field]) => field);
  if (sources.length > 1)
    report.error(
      "JIBE1022",
      [...path, sources[1]!],
      `only one certificate source can be set, found ${sources.join(" and ")}: keep one of credentialName, credentialNames, serverCertificate/privateKey or tlsCertificates`,
    );
  if ((tls.credentialNames?.length ?? 0) > 2)
    report.warn(
      "JIBE1013",
      [...path, "credentialNames"],
      "credentialNames holds at most two Secrets (an RSA and an ECDSA certificate for the same hosts); a third certificate replaces the one of its key type, so keep two",
    );
  if ((tls.tlsCertificates?.length ?? 0) > 2)
    report.warn("JIBE1013", [...path, "tlsCertificates"], `${mode} TLS supports up to 2 server certificates`);
  if (tls.caCrl !== undefined) {
    if (tls.credentialName)
      report.error(
        "JIBE1022",
        [...path, "caCrl"],
        "caCrl is not supported with credentialName; put the CRL in the Secret (ca.crl) and remove caCrl",
      );
    if (mode === "SIMPLE")
      report.error(
        "JIBE1022",
        [...path, "caCrl"],
        "caCrl is not supported with SIMPLE TLS (no client certificates are checked); remove it or use MUTUAL",
      );
  }
  if (mode === "SIMPLE" && tls.subjectAltNames?.length)
    report.warn(
      "JIBE1013",
      [...path, "subjectAltNames"],
      "subjectAltNames restrict client certificates, which SIMPLE TLS does not ask for; use MUTUAL or OPTIONAL_MUTUAL, or remove them",
    );
  // With a Secret, the certificate, key and CA come from it (ca.crt, or the <name>-cacert Secret).
  if (tls.credentialName || tls.credentialNames?.length) return;
  const certificates = tls.tlsCertificates?.length
    ? tls.tlsCertificates.map((c, j) => ({ at: [...path, "tlsCertificates", j], c }))
    : [{ at: path, c: tls as Record<string, unknown> }];
  for (const { at, c } of certificates) {
    if (!c.serverCertificate)
      report.error(
        "JIBE1012",
        [...at, at === path ? "credentialName" : "serverCertificate"],
        `${mode} TLS needs a certificate; set credentialName (a Secret with tls.crt and tls.key) or serverCertificate and privateKey`,
      );
    else if (!c.privateKey)
      report.error("JIBE1012", [...at, "privateKey"], `${mode} TLS needs privateKey with serverCertificate`);
  }
  if (mode !== "SIMPLE" && !tls.caCertificates)
    report.error(
      "JIBE1012",
      [...path, "caCertificates"],
      `${mode} TLS needs caCertificates to verify client certificates (or a credentialName whose Secret has ca.crt)`,
    );
}
