import { describe, expect, it } from "vitest";
import type { GatewayServerConfig } from "../../control/compile/snapshot.ts";
import { clientSanAllowed, GatewayTlsError, loadServerCredentials, selectServer } from "./server-tls.ts";

const server = (origin: string, hosts: string[]): GatewayServerConfig => ({
  origin,
  port: 443,
  protocol: "HTTPS",
  hosts,
  tls: { mode: "SIMPLE", credentialName: origin },
});

describe("selectServer (the server a TLS connection's SNI picks)", () => {
  const servers = [
    server("any", ["*"]),
    server("wild", ["*.example.com"]),
    server("exact", ["shop.example.com"]),
  ];

  it("prefers an exact host, then the longest wildcard, then *", () => {
    expect(selectServer(servers, "shop.example.com")?.origin).toBe("exact");
    expect(selectServer(servers, "api.example.com")?.origin).toBe("wild");
    expect(selectServer(servers, "other.test")?.origin).toBe("any");
  });

  it("serves a client without SNI only from a * server, and refuses an unknown SNI without one", () => {
    expect(selectServer(servers, undefined)?.origin).toBe("any");
    expect(selectServer(servers.slice(1), undefined)).toBeUndefined();
    expect(selectServer(servers.slice(1), "other.test")).toBeUndefined();
  });
});

describe("loadServerCredentials", () => {
  const files: Record<string, string> = {
    "/creds/shop/tls.crt": "CERT",
    "/creds/shop/tls.key": "KEY",
    "/creds/mtls/tls.crt": "CERT2",
    "/creds/mtls/tls.key": "KEY2",
    "/creds/mtls-cacert/ca.crt": "CA",
  };
  const readFile = (path: string) => {
    const text = files[path];
    if (text === undefined) throw new Error("ENOENT");
    return text;
  };

  it("reads credentialName as a mounted TLS Secret, with the CA from <name>-cacert for MUTUAL", () => {
    expect(loadServerCredentials({ mode: "SIMPLE", credentialName: "shop" }, "/creds", readFile)).toEqual({
      cert: "CERT",
      key: "KEY",
    });
    expect(loadServerCredentials({ mode: "MUTUAL", credentialName: "mtls" }, "/creds", readFile)).toEqual({
      cert: "CERT2",
      key: "KEY2",
      ca: "CA",
    });
  });

  it("fails closed with the field and the fix when a credential cannot be read", () => {
    expect(() =>
      loadServerCredentials({ mode: "SIMPLE", credentialName: "gone" }, "/creds", readFile),
    ).toThrow(/tls.credentialName: cannot read \/creds\/gone\/tls.crt/);
    expect(() =>
      loadServerCredentials({ mode: "SIMPLE", credentialName: "shop" }, undefined, readFile),
    ).toThrow(/JIBE_GATEWAY_CREDENTIALS_DIR/);
    expect(() =>
      loadServerCredentials(
        { mode: "MUTUAL", serverCertificate: "/creds/shop/tls.crt", privateKey: "/creds/shop/tls.key" },
        "/creds",
        readFile,
      ),
    ).toThrow(GatewayTlsError);
  });
});

describe("clientSanAllowed", () => {
  it("accepts any verified certificate without subjectAltNames, else one carrying a listed SAN", () => {
    expect(clientSanAllowed("URI:spiffe://a/b", undefined)).toBe(true);
    expect(clientSanAllowed("DNS:client.test, URI:spiffe://a/b", ["spiffe://a/b"])).toBe(true);
    expect(clientSanAllowed("DNS:client.test", ["spiffe://a/b"])).toBe(false);
    expect(clientSanAllowed(undefined, ["client.test"])).toBe(false);
  });
});
