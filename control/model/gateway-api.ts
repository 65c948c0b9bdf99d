import { z } from "zod";

/**
 * Kubernetes Gateway API (`gateway.networking.k8s.io` v1/v1beta1) specs, field for field as the
 * project documents them (https://gateway-api.sigs.k8s.io/reference/spec/): Gateway (stored as
 * the internal kind `KubernetesGateway`, so it never clashes with Istio's Gateway), HTTPRoute,
 * ReferenceGrant and GatewayClass. Unknown fields are errors. Semantic rules live in
 * `gateway-api-checks.ts`; what the rules mean for routing in `control/compile/gateway-api-*.ts`.
 */

/** The API group of every Gateway API kind. */
export const GATEWAY_API_GROUP = "gateway.networking.k8s.io";

export const parentRefSchema = z.strictObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string(),
  sectionName: z.string().optional(),
  port: z.number().int().optional(),
});
/** `ParentReference`: a Gateway (default) or, for mesh (GAMMA) routes, a Service. */
export type ParentRef = z.infer<typeof parentRefSchema>;

export const backendObjectRefSchema = z.strictObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  name: z.string(),
  namespace: z.string().optional(),
  port: z.number().int().optional(),
});
/** `BackendObjectReference`: a Service (default) and port. */
export type BackendObjectRef = z.infer<typeof backendObjectRefSchema>;

const headerEntrySchema = z.strictObject({ name: z.string(), value: z.string() });

export const headerModifierSchema = z.strictObject({
  set: z.array(headerEntrySchema).optional(),
  add: z.array(headerEntrySchema).optional(),
  remove: z.array(z.string()).optional(),
});
/** `HTTPHeaderFilter`: set (replace), add (append) and remove headers. */
export type HeaderModifier = z.infer<typeof headerModifierSchema>;

const pathModifierSchema = z.strictObject({
  type: z.enum(["ReplaceFullPath", "ReplacePrefixMatch"]),
  replaceFullPath: z.string().optional(),
  replacePrefixMatch: z.string().optional(),
});
/** `HTTPPathModifier`. */
export type PathModifier = z.infer<typeof pathModifierSchema>;

/** The fields of `HTTPRouteFilter`, one per filter type (GRPCRoute filters use a subset). */
export const filterFields = {
  requestHeaderModifier: headerModifierSchema.optional(),
  responseHeaderModifier: headerModifierSchema.optional(),
  requestMirror: z
    .strictObject({
      backendRef: backendObjectRefSchema,
      percent: z.number().int().optional(),
      fraction: z
        .strictObject({ numerator: z.number().int(), denominator: z.number().int().optional() })
        .optional(),
    })
    .optional(),
  requestRedirect: z
    .strictObject({
      scheme: z.enum(["http", "https"]).optional(),
      hostname: z.string().optional(),
      path: pathModifierSchema.optional(),
      port: z.number().int().optional(),
      statusCode: z.number().int().optional(),
    })
    .optional(),
  urlRewrite: z
    .strictObject({ hostname: z.string().optional(), path: pathModifierSchema.optional() })
    .optional(),
  cors: z
    .strictObject({
      allowOrigins: z.array(z.string()).optional(),
      allowCredentials: z.boolean().optional(),
      allowMethods: z.array(z.string()).optional(),
      allowHeaders: z.array(z.string()).optional(),
      exposeHeaders: z.array(z.string()).optional(),
      maxAge: z.number().int().optional(),
    })
    .optional(),
  extensionRef: z.strictObject({ group: z.string(), kind: z.string(), name: z.string() }).optional(),
};

/** Filter types and the field each one fills. */
export const FILTER_FIELDS = {
  RequestHeaderModifier: "requestHeaderModifier",
  ResponseHeaderModifier: "responseHeaderModifier",
  RequestMirror: "requestMirror",
  RequestRedirect: "requestRedirect",
  URLRewrite: "urlRewrite",
  CORS: "cors",
  ExtensionRef: "extensionRef",
} as const;

const filterSchema = z.strictObject({
  type: z.enum(Object.keys(FILTER_FIELDS) as [keyof typeof FILTER_FIELDS, ...(keyof typeof FILTER_FIELDS)[]]),
  ...filterFields,
});
/** `HTTPRouteFilter`. */
export type HttpRouteFilter = z.infer<typeof filterSchema>;

export const valueMatchSchema = z.strictObject({
  type: z.enum(["Exact", "RegularExpression"]).optional(),
  name: z.string(),
  value: z.string(),
});

const httpRouteMatchSchema = z.strictObject({
  path: z
    .strictObject({
      type: z.enum(["Exact", "PathPrefix", "RegularExpression"]).optional(),
      value: z.string().optional(),
    })
    .optional(),
  headers: z.array(valueMatchSchema).optional(),
  queryParams: z.array(valueMatchSchema).optional(),
  method: z.enum(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]).optional(),
});
/** `HTTPRouteMatch`: every present condition must hold. */
export type HttpRouteMatch = z.infer<typeof httpRouteMatchSchema>;

const httpBackendRefSchema = backendObjectRefSchema.extend({
  weight: z.number().int().optional(),
  filters: z.array(filterSchema).optional(),
});
/** `HTTPBackendRef`. */
export type HttpBackendRef = z.infer<typeof httpBackendRefSchema>;

const httpRouteRuleSchema = z.strictObject({
  name: z.string().optional(),
  matches: z.array(httpRouteMatchSchema).optional(),
  filters: z.array(filterSchema).optional(),
  backendRefs: z.array(httpBackendRefSchema).optional(),
  timeouts: z
    .strictObject({ request: z.string().optional(), backendRequest: z.string().optional() })
    .optional(),
  retry: z
    .strictObject({
      codes: z.array(z.number().int()).optional(),
      attempts: z.number().int().optional(),
      backoff: z.string().optional(),
    })
    .optional(),
  sessionPersistence: z.unknown().optional(),
});
/** `HTTPRouteRule`. */
export type HttpRouteRule = z.infer<typeof httpRouteRuleSchema>;

/** HTTPRoute spec. */
export const httpRouteApiSpecSchema = z.strictObject({
  parentRefs: z.array(parentRefSchema).optional(),
  hostnames: z.array(z.string()).optional(),
  rules: z.array(httpRouteRuleSchema).optional(),
});
export type HttpRouteApiSpec = z.infer<typeof httpRouteApiSpecSchema>;

const labelSelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string(),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
/** A Kubernetes `LabelSelector` (over Namespace labels for `allowedRoutes.namespaces.selector`). */
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

/** `SecretObjectReference`: a Secret (default group "" and kind Secret) holding `tls.crt` / `tls.key`. */
const secretObjectRefSchema = z.strictObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  name: z.string(),
  namespace: z.string().optional(),
});
/** A listener's `tls.certificateRefs` entry. */
export type SecretObjectRef = z.infer<typeof secretObjectRefSchema>;

const listenerSchema = z.strictObject({
  name: z.string(),
  hostname: z.string().optional(),
  port: z.number().int(),
  protocol: z.string(),
  tls: z
    .strictObject({
      mode: z.enum(["Terminate", "Passthrough"]).optional(),
      certificateRefs: z.array(secretObjectRefSchema).optional(),
      frontendValidation: z.unknown().optional(),
      options: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  allowedRoutes: z
    .strictObject({
      namespaces: z
        .strictObject({
          from: z.enum(["All", "Same", "Selector"]).optional(),
          selector: labelSelectorSchema.optional(),
        })
        .optional(),
      kinds: z.array(z.strictObject({ group: z.string().optional(), kind: z.string() })).optional(),
    })
    .optional(),
});
/** `Listener` of a Gateway. */
export type Listener = z.infer<typeof listenerSchema>;

/** Gateway API Gateway spec (internal kind `KubernetesGateway`). */
export const kubernetesGatewaySpecSchema = z.strictObject({
  gatewayClassName: z.string(),
  listeners: z.array(listenerSchema),
  addresses: z.array(z.strictObject({ type: z.string().optional(), value: z.string() })).optional(),
  infrastructure: z.unknown().optional(),
  backendTLS: z.unknown().optional(),
  allowedListeners: z.unknown().optional(),
  tls: z.unknown().optional(),
  defaultScope: z.unknown().optional(),
});
export type KubernetesGatewaySpec = z.infer<typeof kubernetesGatewaySpecSchema>;

const grantFromSchema = z.strictObject({ group: z.string(), kind: z.string(), namespace: z.string() });
const grantToSchema = z.strictObject({ group: z.string(), kind: z.string(), name: z.string().optional() });

/** ReferenceGrant spec: who (`from`) may refer to what (`to`) in the grant's namespace. */
export const referenceGrantSpecSchema = z.strictObject({
  from: z.array(grantFromSchema),
  to: z.array(grantToSchema),
});
export type ReferenceGrantSpec = z.infer<typeof referenceGrantSpecSchema>;

/** GatewayClass spec: accepted so manifests apply; Jibe implements every class the same way. */
export const gatewayClassSpecSchema = z.strictObject({
  controllerName: z.string(),
  parametersRef: z.unknown().optional(),
  description: z.string().optional(),
});
export type GatewayClassSpec = z.infer<typeof gatewayClassSpecSchema>;

/** True for a reference to a core Service (`group` "" or "core", `kind` Service). */
export function isServiceRef(ref: { group?: string | undefined; kind?: string | undefined }): boolean {
  return (
    (ref.group === undefined || ref.group === "" || ref.group === "core") &&
    (ref.kind ?? "Service") === "Service"
  );
}

/** True for a parentRef naming a Gateway API Gateway (the default). */
export function isGatewayParent(ref: ParentRef): boolean {
  return (ref.group ?? GATEWAY_API_GROUP) === GATEWAY_API_GROUP && (ref.kind ?? "Gateway") === "Gateway";
}

/** True for a parentRef naming a Service (a mesh route, GAMMA). */
export function isServiceParent(ref: ParentRef): boolean {
  return (ref.group === "" || ref.group === "core") && ref.kind === "Service";
}
