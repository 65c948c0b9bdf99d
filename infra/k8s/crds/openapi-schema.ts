/**
 * Builders for Kubernetes structural OpenAPI v3 schemas (every node typed; objects without a
 * schema for their fields say so with `x-kubernetes-preserve-unknown-fields`). Pure data.
 *
 * @example
 * ```ts
 * const destination = object({ host: string(), subset: string() }, { required: ["host"] });
 * ```
 */
export interface OpenApiSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  additionalProperties?: OpenApiSchema;
  enum?: string[];
  format?: string;
  minimum?: number;
  maximum?: number;
  maxProperties?: number;
  "x-kubernetes-preserve-unknown-fields"?: true;
  "x-kubernetes-int-or-string"?: true;
}

export const string = (description?: string): OpenApiSchema => ({ type: "string", ...describe(description) });
export const boolean = (): OpenApiSchema => ({ type: "boolean" });
export const number = (range?: { minimum?: number; maximum?: number }): OpenApiSchema => ({
  type: "number",
  ...range,
});
export const integer = (range?: { minimum?: number; maximum?: number }): OpenApiSchema => ({
  type: "integer",
  ...range,
});
export const port = (): OpenApiSchema => integer({ minimum: 1, maximum: 65535 });
/** A protobuf Duration as YAML writes it: `1s`, `0.5s`, `100ms`. */
export const duration = (): OpenApiSchema => ({ type: "string", description: "Duration, e.g. 1s or 100ms." });
export const oneOf = (values: string[]): OpenApiSchema => ({ type: "string", enum: values });
export const array = (items: OpenApiSchema): OpenApiSchema => ({ type: "array", items });
export const strings = (): OpenApiSchema => array(string());
export const map = (values: OpenApiSchema): OpenApiSchema => ({
  type: "object",
  additionalProperties: values,
});
export const labels = (): OpenApiSchema => map(string());
/** A field whose content Jibe passes through without a schema. */
export const opaque = (description?: string): OpenApiSchema => ({
  type: "object",
  "x-kubernetes-preserve-unknown-fields": true,
  ...describe(description),
});

export function object(
  properties: Record<string, OpenApiSchema>,
  opts: { required?: string[]; description?: string; maxProperties?: number } = {},
): OpenApiSchema {
  return {
    type: "object",
    properties,
    ...(opts.required ? { required: opts.required } : {}),
    ...(opts.maxProperties ? { maxProperties: opts.maxProperties } : {}),
    ...describe(opts.description),
  };
}

function describe(description: string | undefined): { description?: string } {
  return description ? { description } : {};
}
