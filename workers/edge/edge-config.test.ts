import { describe, expect, it } from "vitest";
import { generateSigningKey } from "../../broker/envelope.ts";
import { readEdgeConfig } from "./edge-config.ts";

describe("readEdgeConfig", () => {
  it("builds the gateway identity from the vars, with defaults", async () => {
    const { publicJwks } = await generateSigningKey();
    const result = readEdgeConfig({
      JIBE_NATS_WS_URL: "ws://127.0.0.1:4223",
      JIBE_TRUST_JWKS: JSON.stringify(publicJwks),
    });
    expect(result.ok && result.config.proxy).toEqual({
      id: "edge~local",
      role: "gateway",
      namespace: "default",
      labels: { istio: "ingressgateway" },
      gateways: ["default/jibe-edge"],
    });

    const custom = readEdgeConfig({
      JIBE_NATS_WS_URL: "wss://nats.example.com",
      JIBE_TRUST_JWKS: publicJwks,
      JIBE_NAMESPACE: "shop",
      JIBE_GATEWAYS: " shop/public , shop/partners ",
      JIBE_EDGE_NAME: "eu-1",
      JIBE_NATS_TOKEN: "s3cret",
      JIBE_LABELS: "istio=ingress, app=shop-gateway",
    });
    expect(custom.ok && custom.config.proxy).toMatchObject({
      id: "edge~eu-1",
      labels: { istio: "ingress", app: "shop-gateway" },
      namespace: "shop",
      gateways: ["shop/public", "shop/partners"],
    });
    expect(custom.ok && custom.config.natsAuth).toEqual({ token: "s3cret" });
  });

  it("fails closed on labels that are not key=value pairs", async () => {
    const { publicJwks } = await generateSigningKey();
    const result = readEdgeConfig({
      JIBE_NATS_WS_URL: "ws://127.0.0.1:4223",
      JIBE_TRUST_JWKS: publicJwks,
      JIBE_LABELS: "istio=ingress,oops",
    });
    expect(result.ok ? [] : result.problems).toEqual([
      expect.stringMatching(/^JIBE_LABELS: expected key=value/),
    ]);
  });

  it("fails closed, naming the var, when the trust JWKS is missing, malformed or private", async () => {
    const { privateJwk } = await generateSigningKey();
    const problems = (jwks: string) => {
      const result = readEdgeConfig({ JIBE_NATS_WS_URL: "ws://127.0.0.1:4223", JIBE_TRUST_JWKS: jwks });
      return result.ok ? [] : result.problems;
    };
    expect(problems("")).toEqual([expect.stringMatching(/^JIBE_TRUST_JWKS: empty; set it to/)]);
    expect(problems("{nope")).toEqual([expect.stringMatching(/^JIBE_TRUST_JWKS: not JSON/)]);
    expect(problems('{"keys":[]}')).toEqual([expect.stringMatching(/at least one key/)]);
    expect(problems(JSON.stringify({ keys: [privateJwk] }))).toEqual([expect.stringMatching(/private key/)]);
  });

  it("rejects a NATS URL that is not a WebSocket URL", () => {
    const result = readEdgeConfig({
      JIBE_NATS_WS_URL: "nats://127.0.0.1:4222",
      JIBE_TRUST_JWKS: '{"keys":[{}]}',
    });
    expect(result.ok ? [] : result.problems).toEqual([
      expect.stringMatching(/^JIBE_NATS_WS_URL: expected a ws:\/\//),
    ]);
  });
});
