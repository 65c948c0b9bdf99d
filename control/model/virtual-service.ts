import { z } from "zod";
import {
  destinationSchema,
  durationSchema,
  headersSchema,
  percentSchema,
  stringMapSchema,
  stringMatchSchema,
} from "./istio-fields.ts";

/**
 * `networking.istio.io` VirtualService spec, field for field as Istio documents it
 * (https://istio.io/latest/docs/reference/config/networking/virtual-service/). Unknown fields are
 * errors, as in Istio. Semantic rules live in `virtual-service-checks.ts`.
 */

export const httpMatchRequestSchema = z.strictObject({
  name: z.string().optional(),
  uri: stringMatchSchema.optional(),
  scheme: stringMatchSchema.optional(),
  method: stringMatchSchema.optional(),
  authority: stringMatchSchema.optional(),
  headers: z.record(z.string(), stringMatchSchema).optional(),
  port: z.number().int().optional(),
  sourceLabels: stringMapSchema.optional(),
  gateways: z.array(z.string()).optional(),
  queryParams: z.record(z.string(), stringMatchSchema).optional(),
  ignoreUriCase: z.boolean().optional(),
  withoutHeaders: z.record(z.string(), stringMatchSchema).optional(),
  sourceNamespace: z.string().optional(),
  statPrefix: z.string().optional(),
});
export type HttpMatchRequest = z.infer<typeof httpMatchRequestSchema>;

export const httpRouteDestinationSchema = z.strictObject({
  destination: destinationSchema,
  weight: z.number().int().optional(),
  headers: headersSchema.optional(),
});
export type HttpRouteDestination = z.infer<typeof httpRouteDestinationSchema>;

const httpRedirectSchema = z.strictObject({
  uri: z.string().optional(),
  authority: z.string().optional(),
  port: z.number().int().optional(),
  derivePort: z.enum(["FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"]).optional(),
  scheme: z.string().optional(),
  redirectCode: z.number().int().optional(),
});

const httpDirectResponseSchema = z.strictObject({
  status: z.number().int(),
  body: z.strictObject({ string: z.string().optional(), bytes: z.string().optional() }).optional(),
});

const httpRewriteSchema = z.strictObject({
  uri: z.string().optional(),
  authority: z.string().optional(),
  uriRegexRewrite: z
    .strictObject({ match: z.string().optional(), rewrite: z.string().optional() })
    .optional(),
});

const httpRetrySchema = z.strictObject({
  attempts: z.number().int().optional(),
  perTryTimeout: durationSchema.optional(),
  retryOn: z.string().optional(),
  retryRemoteLocalities: z.boolean().optional(),
  retryIgnorePreviousHosts: z.boolean().optional(),
  backoff: durationSchema.optional(),
});

const httpFaultInjectionSchema = z.strictObject({
  delay: z
    .strictObject({
      fixedDelay: durationSchema.optional(),
      exponentialDelay: durationSchema.optional(),
      percentage: percentSchema.optional(),
      percent: z.number().int().optional(),
    })
    .optional(),
  abort: z
    .strictObject({
      httpStatus: z.number().int().optional(),
      grpcStatus: z.string().optional(),
      http2Error: z.string().optional(),
      percentage: percentSchema.optional(),
    })
    .optional(),
});

const corsPolicySchema = z.strictObject({
  allowOrigins: z.array(stringMatchSchema).optional(),
  allowOrigin: z.array(z.string()).optional(),
  allowMethods: z.array(z.string()).optional(),
  allowHeaders: z.array(z.string()).optional(),
  exposeHeaders: z.array(z.string()).optional(),
  maxAge: durationSchema.optional(),
  allowCredentials: z.boolean().optional(),
  unmatchedPreflights: z.enum(["UNSPECIFIED", "FORWARD", "IGNORE"]).optional(),
});

const httpMirrorPolicySchema = z.strictObject({
  destination: destinationSchema,
  percentage: percentSchema.optional(),
});

export const httpRouteSchema = z.strictObject({
  name: z.string().optional(),
  match: z.array(httpMatchRequestSchema).optional(),
  route: z.array(httpRouteDestinationSchema).optional(),
  redirect: httpRedirectSchema.optional(),
  directResponse: httpDirectResponseSchema.optional(),
  delegate: z.strictObject({ name: z.string().optional(), namespace: z.string().optional() }).optional(),
  rewrite: httpRewriteSchema.optional(),
  timeout: durationSchema.optional(),
  retries: httpRetrySchema.optional(),
  fault: httpFaultInjectionSchema.optional(),
  mirror: destinationSchema.optional(),
  mirrors: z.array(httpMirrorPolicySchema).optional(),
  mirrorPercent: z.number().int().optional(),
  mirrorPercentage: percentSchema.optional(),
  corsPolicy: corsPolicySchema.optional(),
  headers: headersSchema.optional(),
  websocketUpgrade: z.boolean().optional(),
});
export type HttpRoute = z.infer<typeof httpRouteSchema>;

const l4MatchSchema = z.strictObject({
  destinationSubnets: z.array(z.string()).optional(),
  port: z.number().int().optional(),
  sourceLabels: stringMapSchema.optional(),
  gateways: z.array(z.string()).optional(),
  sourceNamespace: z.string().optional(),
  sniHosts: z.array(z.string()).optional(),
  sourceSubnet: z.string().optional(),
});

const routeDestinationSchema = z.strictObject({
  destination: destinationSchema,
  weight: z.number().int().optional(),
});

const l4RouteSchema = z.strictObject({
  match: z.array(l4MatchSchema).optional(),
  route: z.array(routeDestinationSchema).optional(),
});

export const virtualServiceSpecSchema = z.strictObject({
  hosts: z.array(z.string()).optional(),
  gateways: z.array(z.string()).optional(),
  http: z.array(httpRouteSchema).optional(),
  tls: z.array(l4RouteSchema).optional(),
  tcp: z.array(l4RouteSchema).optional(),
  exportTo: z.array(z.string()).optional(),
});

/** A validated VirtualService spec. */
export type VirtualServiceSpec = z.infer<typeof virtualServiceSpecSchema>;

/** The gateway name that means "sidecars in the mesh". */
export const MESH_GATEWAY = "mesh";
