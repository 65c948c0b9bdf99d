import { describe, expect, it } from "vitest";
import { isJibeError } from "../../broker/errors.ts";
import { parseLabels, readSidecarEnv } from "./sidecar-env.ts";

describe("readSidecarEnv", () => {
  it("derives the proxy identity from labels and namespace, with Istio's ports by default", () => {
    const env = readSidecarEnv(
      { JIBE_APP_PORT: "9080", JIBE_LABELS: "app=reviews, version=v1", JIBE_NAMESPACE: "shop" },
      "/home/u/.jibe",
    );
    expect(env.proxy).toEqual({
      id: "sidecar~reviews-v1~shop",
      role: "sidecar",
      namespace: "shop",
      labels: { app: "reviews", version: "v1" },
    });
    expect(env).toMatchObject({
      appPort: 9080,
      inboundPort: 15006,
      outboundPort: 15001,
      natsUrl: "nats://127.0.0.1:4222",
      trustJwks: "/home/u/.jibe/trust.jwks.json",
    });
    expect(env.adminPort).toBeUndefined();
  });

  it("names the variable and the fix when a setting is wrong", () => {
    const failure = (env: Record<string, string>) => {
      try {
        readSidecarEnv(env, "/h");
      } catch (error) {
        if (isJibeError(error) && error.user) return error.message;
        throw error;
      }
      throw new Error("expected a failure");
    };
    expect(failure({})).toMatch(/JIBE_APP_PORT is required/);
    expect(failure({ JIBE_APP_PORT: "9080", JIBE_OUTBOUND_PORT: "http" })).toMatch(
      /JIBE_OUTBOUND_PORT=http is not a port/,
    );
    expect(failure({ JIBE_APP_PORT: "9080", JIBE_LABELS: "app" })).toMatch(
      /JIBE_LABELS: "app" is not key=value/,
    );
  });
});

describe("parseLabels", () => {
  it("allows empty values and ignores blank items", () => {
    expect(parseLabels("a=1,,b=")).toEqual({ a: "1", b: "" });
  });
});
