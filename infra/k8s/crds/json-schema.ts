import type { OpenApiSchema } from "./openapi-schema.ts";

/** A JSON Schema (draft 7 subset) as a generic validator takes it. */
export type JsonSchema = { [keyword: string]: unknown };

/**
 * Turns a CRD's structural `openAPIV3Schema` into a plain JSON Schema that validates a manifest the
 * way the API server does with strict field validation (kubectl's default): unknown fields are
 * errors except under `x-kubernetes-preserve-unknown-fields`, int-or-string accepts both, and the
 * implicit `apiVersion`/`kind`/`metadata` are allowed at the root. Pure.
 *
 * @example
 * ```ts
 * const validate = new Ajv().compile(toStrictJsonSchema(crd.spec.versions[0].schema.openAPIV3Schema));
 * ```
 */
export function toStrictJsonSchema(schema: OpenApiSchema): JsonSchema {
  const converted = convert(schema);
  const properties = (converted.properties ?? {}) as Record<string, JsonSchema>;
  return {
    ...converted,
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      ...properties,
    },
  };
}

function convert(schema: OpenApiSchema): JsonSchema {
  const out: JsonSchema = {};
  if (schema["x-kubernetes-int-or-string"]) out.anyOf = [{ type: "integer" }, { type: "string" }];
  else if (schema.type) out.type = schema.type;
  for (const keyword of ["enum", "minimum", "maximum", "maxProperties", "required"] as const) {
    if (schema[keyword] !== undefined) out[keyword] = schema[keyword];
  }
  if (schema.items) out.items = convert(schema.items);
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, convert(v)]));
  }
  if (schema.additionalProperties) out.additionalProperties = convert(schema.additionalProperties);
  else if (schema.type === "object" && !schema["x-kubernetes-preserve-unknown-fields"]) {
    out.additionalProperties = false;
  }
  return out;
}
