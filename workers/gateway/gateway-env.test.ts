import { describe, expect, it } from "vitest";
import { readGatewayEnv } from "./gateway-env.ts";

describe("readGatewayEnv", () => {
  it("is Istio's ingress gateway by default: labels istio=ingressgateway in istio-system, role gateway", () => {
    const env = readGatewayEnv({}, "/home/jibe");
    expect(env.proxy).toEqual({
      id: "gateway~ingressgateway~istio-system",
      role: "gateway",
      namespace: "istio-system",
      labels: { istio: "ingressgateway" },
    });
    expect(env).toMatchObject({ host: "0.0.0.0", portMap: {}, trustJwks: "/home/jibe/trust.jwks.json" });
    expect(env.credentialsDir).toBeUndefined();
  });

  it("reads labels, the credentials folder and the server → local port map", () => {
    const env = readGatewayEnv(
      {
        JIBE_LABELS: "istio=internal,app=gw",
        JIBE_NAMESPACE: "edge",
        JIBE_GATEWAY_CREDENTIALS_DIR: "/etc/jibe/credentials",
        JIBE_GATEWAY_PORT_MAP: "80=8080, 443=8443",
      },
      "/h",
    );
    expect(env.proxy.labels).toEqual({ istio: "internal", app: "gw" });
    expect(env.proxy.id).toBe("gateway~internal~edge");
    expect(env.credentialsDir).toBe("/etc/jibe/credentials");
    expect(env.portMap).toEqual({ 80: 8080, 443: 8443 });
  });

  it("implements the Gateway API Gateways named in JIBE_GATEWAYS (namespace/name), as the edge worker", () => {
    expect(readGatewayEnv({ JIBE_GATEWAYS: "infra/web, infra/api" }, "/h").proxy.gateways).toEqual([
      "infra/web",
      "infra/api",
    ]);
    expect(() => readGatewayEnv({ JIBE_GATEWAYS: "web" }, "/h")).toThrow(
      /JIBE_GATEWAYS: "web" is not namespace\/name/,
    );
  });

  it("refuses a malformed port map, naming the variable and the form", () => {
    expect(() => readGatewayEnv({ JIBE_GATEWAY_PORT_MAP: "80:8080" }, "/h")).toThrow(
      /JIBE_GATEWAY_PORT_MAP: "80:8080" is not serverPort=localPort/,
    );
  });
});
