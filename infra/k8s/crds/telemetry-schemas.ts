import { array, boolean, labels, map, number, object, oneOf, opaque, string } from "./openapi-schema.ts";

/** Istio telemetry.istio.io Telemetry spec schema (istio.io/api, telemetry/v1). */
const selector = object({ matchLabels: labels() });
const targetRef = object(
  { group: string(), kind: string(), name: string(), namespace: string() },
  { required: ["kind", "name"] },
);
const providers = array(object({ name: string() }, { required: ["name"] }));
const mode = oneOf(["CLIENT_AND_SERVER", "CLIENT", "SERVER"]);

export const telemetrySpec = object({
  selector,
  targetRef,
  targetRefs: array(targetRef),
  tracing: array(
    object({
      match: object({ mode }),
      providers,
      randomSamplingPercentage: number({ minimum: 0, maximum: 100 }),
      disableSpanReporting: boolean(),
      customTags: map(opaque("literal, environment or header tag")),
      useRequestIdForTraceSampling: boolean(),
    }),
  ),
  metrics: array(
    object({
      providers,
      overrides: array(
        object({
          match: opaque("metric (and mode) the override applies to"),
          disabled: boolean(),
          tagOverrides: map(object({ operation: oneOf(["UPSERT", "REMOVE"]), value: string() })),
        }),
      ),
      reportingInterval: string(),
    }),
  ),
  accessLogging: array(
    object({
      match: object({ mode }),
      providers,
      disabled: boolean(),
      filter: object({ expression: string() }),
    }),
  ),
});
