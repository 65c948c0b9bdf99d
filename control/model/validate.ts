import type { z } from "zod";
import type { ResourceMetadata, StoredResource } from "../../broker/events.ts";
import type { Diagnostic } from "../compile/snapshot.ts";
import { authorizationPolicySpecSchema } from "./authorization-policy.ts";
import { checkAuthorizationPolicy } from "./authorization-policy-checks.ts";
import { checkDestinationRule, destinationRuleSpecSchema } from "./destination-rule.ts";
import { createReporter, hasErrors, type Reporter } from "./diagnostics.ts";
import { checkGateway, gatewaySpecSchema } from "./gateway.ts";
import {
  gatewayClassSpecSchema,
  httpRouteApiSpecSchema,
  kubernetesGatewaySpecSchema,
  referenceGrantSpecSchema,
} from "./gateway-api.ts";
import {
  checkGatewayClass,
  checkHttpRouteApi,
  checkKubernetesGateway,
  checkReferenceGrant,
} from "./gateway-api-checks.ts";
import { checkGrpcRoute, grpcRouteSpecSchema } from "./grpc-route.ts";
import { checkIngress, ingressSpecSchema } from "./ingress.ts";
import {
  internalKind,
  isSupportedKind,
  KIND_API_VERSIONS,
  KNOWN_UNSUPPORTED_KINDS,
  resolveKind,
  SUPPORTED_KINDS,
  type SupportedKind,
} from "./kinds.ts";
import { checkMeshConfigMap, configMapDataSchema } from "./mesh-config.ts";
import { checkNamespace, namespaceSpecSchema } from "./namespace.ts";
import { checkPeerAuthentication, peerAuthenticationSpecSchema } from "./peer-authentication.ts";
import { checkRequestAuthentication, requestAuthenticationSpecSchema } from "./request-authentication.ts";
import { DEFAULT_NAMESPACE, documentSchema, readMetadata } from "./resource.ts";
import { checkService, serviceSpecSchema } from "./service.ts";
import { checkServiceEntry, serviceEntrySpecSchema } from "./service-entry.ts";
import { checkSidecar, sidecarSpecSchema } from "./sidecar.ts";
import { checkStreamRoute, tcpRouteSpecSchema, tlsRouteSpecSchema } from "./stream-routes.ts";
import { checkTelemetry, telemetrySpecSchema } from "./telemetry.ts";
import { virtualServiceSpecSchema } from "./virtual-service.ts";
import { checkVirtualService } from "./virtual-service-checks.ts";
import { checkWorkloadEntry, workloadEntrySpecSchema } from "./workload-entry.ts";
import { reportZodIssues } from "./zod-issues.ts";

interface KindRules {
  schema: z.ZodType;
  check(spec: never, report: Reporter, metadata?: ResourceMetadata): void;
}

const RULES: Readonly<Record<SupportedKind, KindRules>> = {
  VirtualService: { schema: virtualServiceSpecSchema, check: checkVirtualService },
  DestinationRule: { schema: destinationRuleSpecSchema, check: checkDestinationRule },
  WorkloadEntry: { schema: workloadEntrySpecSchema, check: checkWorkloadEntry },
  Service: { schema: serviceSpecSchema, check: checkService },
  AuthorizationPolicy: { schema: authorizationPolicySpecSchema, check: checkAuthorizationPolicy },
  RequestAuthentication: { schema: requestAuthenticationSpecSchema, check: checkRequestAuthentication },
  Telemetry: { schema: telemetrySpecSchema, check: checkTelemetry },
  PeerAuthentication: { schema: peerAuthenticationSpecSchema, check: checkPeerAuthentication },
  ServiceEntry: { schema: serviceEntrySpecSchema, check: checkServiceEntry },
  Sidecar: { schema: sidecarSpecSchema, check: checkSidecar },
  Gateway: { schema: gatewaySpecSchema, check: checkGateway },
  Ingress: { schema: ingressSpecSchema, check: checkIngress },
  ConfigMap: { schema: configMapDataSchema, check: checkMeshConfigMap },
  KubernetesGateway: { schema: kubernetesGatewaySpecSchema, check: checkKubernetesGateway },
  HTTPRoute: { schema: httpRouteApiSpecSchema, check: checkHttpRouteApi },
  ReferenceGrant: { schema: referenceGrantSpecSchema, check: checkReferenceGrant },
  GatewayClass: { schema: gatewayClassSpecSchema, check: checkGatewayClass },
  GRPCRoute: { schema: grpcRouteSpecSchema, check: checkGrpcRoute },
  Namespace: { schema: namespaceSpecSchema, check: checkNamespace },
  TCPRoute: { schema: tcpRouteSpecSchema, check: checkStreamRoute },
  TLSRoute: { schema: tlsRouteSpecSchema, check: checkStreamRoute },
};

/** Result of {@link validateResource}: warnings may accompany a valid resource. */
export type ValidateResult =
  | { ok: true; resource: StoredResource; diagnostics: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[] };

/**
 * Validates one parsed document against the kind's schema and Istio's semantic rules.
 * Unknown fields, wrong types and broken rules are errors naming the field path and the fix.
 *
 * @example
 * ```ts
 * const r = validateResource({ apiVersion: "networking.istio.io/v1", kind: "VirtualService",
 *   metadata: { name: "reviews" }, spec: { hosts: ["reviews"], http: [{ route: [{ destination: { host: "reviews" } }] }] } });
 * r.ok && r.resource.metadata.namespace; // "default"
 * ```
 */
export function validateResource(doc: unknown, opts: { index?: number } = {}): ValidateResult {
  const docLabel = opts.index === undefined ? "document" : `document #${opts.index + 1}`;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    const report = createReporter(docLabel);
    report.error(
      "JIBE1002",
      [],
      `${docLabel} is ${Array.isArray(doc) ? "a list" : doc === null ? "empty" : `a ${typeof doc}`}; a resource must be a mapping with apiVersion, kind, metadata and spec`,
    );
    return { ok: false, diagnostics: report.diagnostics };
  }
  const raw = namespaceWithSpec(configMapAsSpec(doc as Record<string, unknown>));
  const kind = typeof raw.kind === "string" ? internalKind(raw.apiVersion, raw.kind) : undefined;
  const meta = (typeof raw.metadata === "object" && raw.metadata !== null ? raw.metadata : {}) as Record<
    string,
    unknown
  >;
  const name = typeof meta.name === "string" && meta.name !== "" ? meta.name : `(unnamed ${docLabel})`;
  const namespace = typeof meta.namespace === "string" ? meta.namespace : DEFAULT_NAMESPACE;
  const report = createReporter(`${kind ?? "(no kind)"}/${namespace}/${name}`);
  if (!checkKind(raw, kind, report) || !kind || !isSupportedKind(kind))
    return { ok: false, diagnostics: report.diagnostics };

  const top = documentSchema.safeParse(raw, { reportInput: true });
  if (!top.success) reportZodIssues(top.error.issues, documentSchema, [], report);
  const metadata = readMetadata(raw.metadata, kind, report);
  if (typeof raw.spec !== "object" || raw.spec === null || Array.isArray(raw.spec)) {
    report.error(
      "JIBE1007",
      ["spec"],
      `spec is ${raw.spec === undefined ? "missing" : "not a mapping"}; add the ${kind} spec`,
    );
    return { ok: false, diagnostics: report.diagnostics };
  }
  const rules = RULES[kind];
  const spec = rules.schema.safeParse(raw.spec, { reportInput: true });
  if (!spec.success) {
    reportZodIssues(spec.error.issues, rules.schema, ["spec"], report);
  } else {
    rules.check(spec.data as never, report, metadata);
  }
  if (!metadata || !spec.success || hasErrors(report.diagnostics))
    return { ok: false, diagnostics: report.diagnostics };
  const resource: StoredResource = { apiVersion: String(raw.apiVersion), kind, metadata, spec: spec.data };
  return { ok: true, resource, diagnostics: report.diagnostics };
}

/** A ConfigMap carries `data`, not `spec`: Jibe stores and validates its data as the spec. */
function configMapAsSpec(raw: Record<string, unknown>): Record<string, unknown> {
  if (raw.kind !== "ConfigMap" || raw.data === undefined || raw.spec !== undefined) return raw;
  const { data, ...rest } = raw;
  return { ...rest, spec: data };
}

/** A Namespace manifest usually has no `spec`: it is stored with an empty one. */
function namespaceWithSpec(raw: Record<string, unknown>): Record<string, unknown> {
  return raw.kind === "Namespace" && raw.apiVersion === "v1" && raw.spec === undefined
    ? { ...raw, spec: {} }
    : raw;
}

function checkKind(raw: Record<string, unknown>, kind: string | undefined, report: Reporter): boolean {
  const supported = SUPPORTED_KINDS.join(", ");
  if (typeof raw.apiVersion !== "string" || kind === undefined) {
    const missing = [
      typeof raw.apiVersion !== "string" ? "apiVersion" : "",
      kind === undefined ? "kind" : "",
    ].filter(Boolean);
    report.error(
      "JIBE1002",
      [missing[0] ?? "kind"],
      `${missing.join(" and ")} must be set as a string, e.g. apiVersion: networking.istio.io/v1, kind: VirtualService`,
    );
    return false;
  }
  const apiVersion = raw.apiVersion;
  if (!isSupportedKind(kind)) {
    const meant = resolveKind(kind);
    if (meant)
      report.error(
        "JIBE1003",
        ["kind"],
        `unknown kind "${kind}"; kinds are case-sensitive: did you mean "${meant}"?`,
      );
    else if (KNOWN_UNSUPPORTED_KINDS[kind] !== undefined) {
      report.error(
        "JIBE1004",
        ["kind"],
        `kind ${kind} (${apiVersion}) is not supported yet; supported kinds: ${supported}`,
      );
    } else report.error("JIBE1003", ["kind"], `unknown kind "${kind}"; supported kinds: ${supported}`);
    return false;
  }
  const versions = KIND_API_VERSIONS[kind];
  if (!versions.includes(apiVersion)) {
    report.error(
      "JIBE1005",
      ["apiVersion"],
      `apiVersion "${apiVersion}" is not accepted for ${kind}; use ${versions.join(" or ")}`,
    );
    return false;
  }
  return true;
}

/**
 * Validates many documents (e.g. a multi-document YAML file). Applying is all-or-nothing, and
 * that is the caller's job: any error diagnostic means apply nothing.
 *
 * @example
 * ```ts
 * const { documents } = parseDocuments(yamlText);
 * const { resources, diagnostics } = validateDocuments(documents);
 * ```
 */
export function validateDocuments(docs: readonly unknown[]): {
  resources: StoredResource[];
  diagnostics: Diagnostic[];
} {
  const resources: StoredResource[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Map<string, number>();
  docs.forEach((doc, index) => {
    const result = validateResource(doc, { index });
    diagnostics.push(...result.diagnostics);
    if (!result.ok) return;
    const { kind, metadata } = result.resource;
    const ref = `${kind}/${metadata.namespace}/${metadata.name}`;
    const first = seen.get(ref);
    if (first !== undefined) {
      diagnostics.push({
        severity: "error",
        code: "JIBE1018",
        resource: ref,
        path: "metadata.name",
        message: `${ref} appears twice (documents #${first + 1} and #${index + 1}); keep one`,
      });
      return;
    }
    seen.set(ref, index);
    resources.push(result.resource);
  });
  return { resources, diagnostics };
}
