import { describe, expect, it } from "vitest";
import { resolveKind } from "./kinds.ts";
import {
  type AttributeSource,
  evaluateFilter,
  evaluateValue,
  parseFilterExpression,
  parseValueExpression,
} from "./telemetry-expression.ts";
import { validateResource } from "./validate.ts";

function telemetry(spec: object, namespace = "default") {
  return {
    apiVersion: "telemetry.istio.io/v1",
    kind: "Telemetry",
    metadata: { name: "t", namespace },
    spec,
  };
}

function errorsOf(spec: object): string[] {
  const result = validateResource(telemetry(spec));
  return result.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.path}: ${d.message}`);
}

const known: Record<string, string | number> = {
  "response.code": 503,
  "request.method": "POST",
  "response.flags": "UH",
};
const attrs: AttributeSource = {
  attribute: (name) => known[name],
  header: (name) => (name === "x-tenant" ? "acme" : undefined),
};

describe("Telemetry resource", () => {
  it("accepts Istio's fields and Jibe's metric extensions", () => {
    const result = validateResource(
      telemetry({
        selector: { matchLabels: { app: "reviews" } },
        tracing: [{ randomSamplingPercentage: 12.5, providers: [{ name: "otel" }] }],
        metrics: [
          {
            providers: [{ name: "prometheus" }],
            overrides: [
              {
                match: { metric: "REQUEST_COUNT", mode: "CLIENT" },
                tagOverrides: {
                  request_protocol: { operation: "REMOVE" },
                  tenant: { value: "request.headers['x-tenant']" },
                },
              },
            ],
            histogramBuckets: { REQUEST_DURATION: [1, 10, 100] },
            metricExpiry: "5m",
            hostHeaderFallback: false,
          },
        ],
        accessLogging: [{ filter: { expression: "response.code >= 400" } }],
      }),
    );
    expect(result.diagnostics).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it("is resolved from what users type", () => {
    expect(resolveKind("telemetry")).toBe("Telemetry");
    expect(resolveKind("telemetries.telemetry.istio.io")).toBe("Telemetry");
  });

  it("names the field and the fix for bad values", () => {
    expect(errorsOf({ tracing: [{ randomSamplingPercentage: 150 }] })).toEqual([
      expect.stringMatching(/^spec\.tracing\[0\]\.randomSamplingPercentage: .*0 to 100/),
    ]);
    expect(errorsOf({ metrics: [{ histogramBuckets: { REQUEST_DURATION: [5, 5] } }] })).toEqual([
      expect.stringMatching(/^spec\.metrics\[0\]\.histogramBuckets\.REQUEST_DURATION\[1\]: .*increase/),
    ]);
    expect(errorsOf({ metrics: [{ metricExpiry: "ten minutes" }] })[0]).toMatch(
      /^spec\.metrics\[0\]\.metricExpiry: /,
    );
    expect(
      errorsOf({ metrics: [{ overrides: [{ tagOverrides: { "bad-name": { value: "'x'" } } }] }] })[0],
    ).toMatch(/tagOverrides\["bad-name"\]: .*label name/);
    expect(errorsOf({ metrics: [{ overrides: [{ tagOverrides: { x: {} } }] }] })[0]).toMatch(
      /tagOverrides\.x\.value: .*needs a value/,
    );
    expect(
      errorsOf({ metrics: [{ overrides: [{ tagOverrides: { x: { value: "request.nope" } } }] }] })[0],
    ).toMatch(/tagOverrides\.x\.value: .*not a supported expression/);
    expect(errorsOf({ accessLogging: [{ filter: { expression: "response.code" } }] })[0]).toMatch(
      /^spec\.accessLogging\[0\]\.filter\.expression: .*not a comparison/,
    );
    expect(errorsOf({ metrics: [{ histogramBuckets: { REQUEST_COUNT: [1] } }] })[0]).toMatch(
      /histogramBuckets/,
    );
  });
});

describe("telemetry expressions", () => {
  it("evaluates values: literals, attributes, headers, absent as unknown", () => {
    const value = (text: string) => {
      const parsed = parseValueExpression(text);
      if (!parsed.ok) throw new Error(parsed.problem);
      return evaluateValue(parsed.expression, attrs);
    };
    expect(value("'fixed'")).toBe("fixed");
    expect(value("string(response.code)")).toBe("503");
    expect(value('request.headers["X-Tenant"]')).toBe("acme");
    expect(value("request.host")).toBe("unknown");
  });

  it("evaluates filters with && binding tighter than ||", () => {
    const passes = (text: string) => {
      const parsed = parseFilterExpression(text);
      if (!parsed.ok) throw new Error(parsed.problem);
      return evaluateFilter(parsed.expression, attrs);
    };
    expect(passes("response.code >= 500")).toBe(true);
    expect(passes("response.code < 400")).toBe(false);
    expect(passes("request.method == 'GET' && response.code >= 500 || response.flags != '-'")).toBe(true);
    expect(passes("request.method == 'GET' && response.code >= 500")).toBe(false);
    expect(passes("request.headers['x-tenant'] == 'acme'")).toBe(true);
    expect(passes("request.method == 'a && b'")).toBe(false);
  });
});
