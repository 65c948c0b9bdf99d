import {
  array,
  boolean,
  integer,
  labels,
  map,
  object,
  oneOf,
  opaque,
  port,
  string,
  strings,
} from "./openapi-schema.ts";

/**
 * Schemas of the networking.istio.io kinds that scope traffic: ServiceEntry, Sidecar and Gateway
 * (the fields of istio.io/api, networking/v1; semantic rules live in control/model).
 */

const servicePort = object(
  { number: port(), protocol: string(), name: string(), targetPort: port() },
  { required: ["number"] },
);
const workloadEntry = object({
  address: string(),
  ports: map(integer({ minimum: 1, maximum: 65535 })),
  labels: labels(),
  network: string(),
  locality: string(),
  weight: integer({ minimum: 0 }),
  serviceAccount: string(),
});
const workloadSelector = object({ labels: labels() });
const captureMode = oneOf(["DEFAULT", "IPTABLES", "NONE"]);
const tlsVersion = oneOf(["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"]);

/** networking.istio.io ServiceEntry spec. */
export const serviceEntrySpec = object({
  hosts: strings(),
  addresses: strings(),
  ports: array(servicePort),
  location: oneOf(["MESH_EXTERNAL", "MESH_INTERNAL"]),
  resolution: oneOf(["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"]),
  endpoints: array(workloadEntry),
  workloadSelector,
  exportTo: strings(),
  subjectAltNames: strings(),
});

/** networking.istio.io Sidecar spec. */
export const sidecarSpec = object({
  workloadSelector,
  ingress: array(
    object({
      port: servicePort,
      bind: string(),
      captureMode,
      defaultEndpoint: string(),
      tls: opaque("ServerTLSSettings (accepted, not enforced)"),
      connectionPool: opaque("ConnectionPoolSettings (accepted, not enforced)"),
    }),
  ),
  egress: array(object({ port: servicePort, bind: string(), captureMode, hosts: strings() })),
  outboundTrafficPolicy: object({
    mode: oneOf(["REGISTRY_ONLY", "ALLOW_ANY"]),
    egressProxy: opaque("Destination (accepted, not enforced)"),
  }),
  inboundConnectionPool: opaque("ConnectionPoolSettings (accepted, not enforced)"),
});

/** networking.istio.io Gateway spec (not the Gateway API's gateway.networking.k8s.io Gateway). */
export const gatewaySpec = object({
  selector: labels(),
  servers: array(
    object(
      {
        port: servicePort,
        bind: string(),
        hosts: strings(),
        tls: object({
          httpsRedirect: boolean(),
          mode: oneOf([
            "PASSTHROUGH",
            "SIMPLE",
            "MUTUAL",
            "AUTO_PASSTHROUGH",
            "ISTIO_MUTUAL",
            "OPTIONAL_MUTUAL",
          ]),
          serverCertificate: string(),
          privateKey: string(),
          caCertificates: string(),
          caCrl: string(),
          credentialName: string(),
          credentialNames: strings(),
          tlsCertificates: array(opaque("TLSCertificate")),
          subjectAltNames: strings(),
          verifyCertificateSpki: strings(),
          verifyCertificateHash: strings(),
          minProtocolVersion: tlsVersion,
          maxProtocolVersion: tlsVersion,
          cipherSuites: strings(),
        }),
        defaultEndpoint: string(),
        name: string(),
      },
      { required: ["port", "hosts"] },
    ),
  ),
});
