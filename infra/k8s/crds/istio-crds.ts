import { stringify } from "yaml";
import { destinationRuleSpec, virtualServiceSpec, workloadEntrySpec } from "./networking-schemas.ts";
import type { OpenApiSchema } from "./openapi-schema.ts";
import {
  authorizationPolicySpec,
  peerAuthenticationSpec,
  requestAuthenticationSpec,
} from "./security-schemas.ts";
import { telemetrySpec } from "./telemetry-schemas.ts";
import { gatewaySpec, serviceEntrySpec, sidecarSpec } from "./traffic-scope-schemas.ts";

/** One Istio kind Jibe serves, as its CRD declares it. */
export interface IstioKind {
  group: "networking.istio.io" | "security.istio.io" | "telemetry.istio.io";
  kind: string;
  plural: string;
  shortNames: string[];
  /** Served versions, the storage version (v1) first. */
  versions: string[];
  spec: OpenApiSchema;
  columns: { name: string; jsonPath: string; type: string; description: string }[];
}

const NETWORKING_VERSIONS = ["v1", "v1beta1", "v1alpha3"];
const SECURITY_VERSIONS = ["v1", "v1beta1"];
const column = (name: string, jsonPath: string, type = "string") => ({
  name,
  jsonPath,
  type,
  description: `${name} (${jsonPath})`,
});

/** The Istio kinds Jibe serves, with group names and versions unchanged so existing YAML applies. */
export const ISTIO_KINDS: readonly IstioKind[] = [
  {
    group: "networking.istio.io",
    kind: "VirtualService",
    plural: "virtualservices",
    shortNames: ["vs"],
    versions: NETWORKING_VERSIONS,
    spec: virtualServiceSpec,
    columns: [column("Gateways", ".spec.gateways"), column("Hosts", ".spec.hosts")],
  },
  {
    group: "networking.istio.io",
    kind: "DestinationRule",
    plural: "destinationrules",
    shortNames: ["dr"],
    versions: NETWORKING_VERSIONS,
    spec: destinationRuleSpec,
    columns: [column("Host", ".spec.host")],
  },
  {
    group: "networking.istio.io",
    kind: "WorkloadEntry",
    plural: "workloadentries",
    shortNames: ["we"],
    versions: NETWORKING_VERSIONS,
    spec: workloadEntrySpec,
    columns: [column("Address", ".spec.address")],
  },
  {
    group: "networking.istio.io",
    kind: "ServiceEntry",
    plural: "serviceentries",
    shortNames: ["se"],
    versions: NETWORKING_VERSIONS,
    spec: serviceEntrySpec,
    columns: [
      column("Hosts", ".spec.hosts"),
      column("Location", ".spec.location"),
      column("Resolution", ".spec.resolution"),
    ],
  },
  {
    group: "networking.istio.io",
    kind: "Sidecar",
    plural: "sidecars",
    shortNames: [],
    versions: NETWORKING_VERSIONS,
    spec: sidecarSpec,
    columns: [],
  },
  {
    group: "networking.istio.io",
    kind: "Gateway",
    plural: "gateways",
    shortNames: ["gw"],
    versions: NETWORKING_VERSIONS,
    spec: gatewaySpec,
    columns: [],
  },
  {
    group: "security.istio.io",
    kind: "AuthorizationPolicy",
    plural: "authorizationpolicies",
    shortNames: ["ap"],
    versions: SECURITY_VERSIONS,
    spec: authorizationPolicySpec,
    columns: [column("Action", ".spec.action")],
  },
  {
    group: "security.istio.io",
    kind: "RequestAuthentication",
    plural: "requestauthentications",
    shortNames: ["ra"],
    versions: SECURITY_VERSIONS,
    spec: requestAuthenticationSpec,
    columns: [],
  },
  {
    group: "security.istio.io",
    kind: "PeerAuthentication",
    plural: "peerauthentications",
    shortNames: ["pa"],
    versions: SECURITY_VERSIONS,
    spec: peerAuthenticationSpec,
    columns: [column("Mode", ".spec.mtls.mode")],
  },
  {
    group: "telemetry.istio.io",
    kind: "Telemetry",
    plural: "telemetries",
    shortNames: ["telemetry"],
    versions: ["v1", "v1alpha1"],
    spec: telemetrySpec,
    columns: [],
  },
];

/** The `openAPIV3Schema` of a kind: spec as declared, status written by the adapter (free-form). */
export function resourceSchema(kind: IstioKind): OpenApiSchema {
  return {
    type: "object",
    properties: {
      spec: { ...kind.spec, description: `Spec of the ${kind.kind} (istio.io/api ${kind.group}).` },
      status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    },
  };
}

/**
 * The apiextensions.k8s.io/v1 CustomResourceDefinition of a kind: every version served with the
 * same schema (conversion None, as Istio's), v1 stored, status subresource.
 *
 * @example
 * ```ts
 * buildCustomResourceDefinition(ISTIO_KINDS[0]).metadata.name; // "virtualservices.networking.istio.io"
 * ```
 */
export function buildCustomResourceDefinition(kind: IstioKind) {
  const category = kind.group.replaceAll(".", "-");
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${kind.plural}.${kind.group}`,
      labels: { "app.kubernetes.io/part-of": "jibe", "app.kubernetes.io/component": "crds" },
    },
    spec: {
      group: kind.group,
      names: {
        kind: kind.kind,
        listKind: `${kind.kind}List`,
        plural: kind.plural,
        singular: kind.kind.toLowerCase(),
        shortNames: kind.shortNames,
        categories: ["istio-io", category],
      },
      scope: "Namespaced",
      versions: kind.versions.map((name, i) => ({
        name,
        served: true,
        storage: i === 0,
        subresources: { status: {} },
        additionalPrinterColumns: [
          ...kind.columns,
          { name: "Age", jsonPath: ".metadata.creationTimestamp", type: "date" },
        ],
        schema: { openAPIV3Schema: resourceSchema(kind) },
      })),
    },
  };
}

/**
 * The CRD manifests as files (`<plural>.<group>.yaml`), what `write-crds.ts` writes into this folder.
 *
 * @example
 * ```ts
 * for (const [file, text] of renderCrdFiles()) console.log(file, text.length);
 * ```
 */
export function renderCrdFiles(): Map<string, string> {
  const header = "# Generated by infra/k8s/crds/write-crds.ts from istio-crds.ts; do not edit.\n";
  return new Map(
    ISTIO_KINDS.map((kind) => [
      `${kind.plural}.${kind.group}.yaml`,
      header + stringify(buildCustomResourceDefinition(kind), { lineWidth: 0, aliasDuplicateObjects: false }),
    ]),
  );
}
