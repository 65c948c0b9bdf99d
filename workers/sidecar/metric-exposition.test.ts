import { describe, expect, it } from "vitest";
import { checkFamilyNames, renderExposition } from "./metric-exposition.ts";

describe("Prometheus text exposition of the sidecar's metrics", () => {
  it("writes a counter's series and a histogram's cumulative buckets, +Inf, sum and count", () => {
    const text = renderExposition([
      {
        name: "istio_requests_total",
        help: "Requests.",
        series: [{ labels: { reporter: "source", response_code: "200" }, sum: 3, count: 3 }],
      },
      {
        name: "istio_request_duration_milliseconds",
        help: "Duration.",
        buckets: [1, 5],
        series: [{ labels: { reporter: "source" }, sum: 12.5, count: 3, buckets: [1, 1] }],
      },
    ]);
    expect(text.split("\n")).toEqual([
      "# HELP istio_requests_total Requests.",
      "# TYPE istio_requests_total counter",
      'istio_requests_total{reporter="source",response_code="200"} 3',
      "",
      "# HELP istio_request_duration_milliseconds Duration.",
      "# TYPE istio_request_duration_milliseconds histogram",
      'istio_request_duration_milliseconds_bucket{le="1",reporter="source"} 1',
      'istio_request_duration_milliseconds_bucket{le="5",reporter="source"} 2',
      'istio_request_duration_milliseconds_bucket{le="+Inf",reporter="source"} 3',
      'istio_request_duration_milliseconds_sum{reporter="source"} 12.5',
      'istio_request_duration_milliseconds_count{reporter="source"} 3',
      "",
    ]);
  });

  it("escapes label values and help text", () => {
    const text = renderExposition([
      { name: "m_total", help: "a\\b\nc", series: [{ labels: { host: 'x"y\\z\nw' }, sum: 1, count: 1 }] },
    ]);
    expect(text).toContain("# HELP m_total a\\\\b\\nc");
    expect(text).toContain('m_total{host="x\\"y\\\\z\\nw"} 1');
  });

  it("refuses names Prometheus cannot take, and `le` on a histogram", () => {
    expect(() => checkFamilyNames("istio-requests", [], false)).toThrow(/metric name/);
    expect(() => checkFamilyNames("m_total", ["request.host"], false)).toThrow(/label name/);
    expect(() => checkFamilyNames("m", ["le"], true)).toThrow(/le/);
    expect(() => checkFamilyNames("m_total", ["le", "reporter"], false)).not.toThrow();
  });
});
