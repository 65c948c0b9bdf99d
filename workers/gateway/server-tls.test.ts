import { describe, expect, it } from "vitest";
import type { GatewayServerConfig } from "../../control/compile/snapshot.ts";
import {
  clientCertificateRefusal,
  clientSanAllowed,
  GatewayTlsError,
  loadServerCredentials,
  selectServer,
  serverTlsOptions,
} from "./server-tls.ts";
import { autoPassthroughTarget } from "./tls-passthrough.ts";

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
    "/creds/rsa/tls.crt": "RSA-CERT",
    "/creds/rsa/tls.key": "RSA-KEY",
    "/creds/rsa/ca.crt": "RSA-CA",
    "/creds/ecdsa/tls.crt": "EC-CERT",
    "/creds/ecdsa/tls.key": "EC-KEY",
    "/creds/generic/cert": "G-CERT",
    "/creds/generic/key": "G-KEY",
    "/creds/generic/cacert": "G-CA",
    "/files/a.crt": "A",
    "/files/a.key": "AK",
    "/files/b.crt": "B",
    "/files/b.key": "BK",
    "/files/ca.crt": "FILE-CA",
    "/files/ca.crl": "FILE-CRL",
    "/creds/revoking/tls.crt": "R-CERT",
    "/creds/revoking/tls.key": "R-KEY",
    "/creds/revoking/ca.crt": "R-CA",
    "/creds/revoking/ca.crl": "R-CRL",
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

  it("serves every Secret of credentialNames (RSA and ECDSA), the client CA from the first", () => {
    expect(
      loadServerCredentials(
        { mode: "OPTIONAL_MUTUAL", credentialNames: ["rsa", "ecdsa"] },
        "/creds",
        readFile,
      ),
    ).toEqual({ cert: ["RSA-CERT", "EC-CERT"], key: ["RSA-KEY", "EC-KEY"], ca: "RSA-CA" });
  });

  it("reads a generic Secret's cert, key and cacert as Istio does", () => {
    expect(loadServerCredentials({ mode: "MUTUAL", credentialName: "generic" }, "/creds", readFile)).toEqual({
      cert: "G-CERT",
      key: "G-KEY",
      ca: "G-CA",
    });
  });

  it("reads revocation lists for the mutual modes: a Secret's ca.crl, or caCrl", () => {
    expect(
      loadServerCredentials({ mode: "MUTUAL", credentialName: "revoking" }, "/creds", readFile).crl,
    ).toBe("R-CRL");
    const files = {
      serverCertificate: "/files/a.crt",
      privateKey: "/files/a.key",
      caCertificates: "/files/ca.crt",
      caCrl: "/files/ca.crl",
    };
    expect(loadServerCredentials({ mode: "OPTIONAL_MUTUAL", ...files }, undefined, readFile).crl).toBe(
      "FILE-CRL",
    );
    expect(loadServerCredentials({ mode: "SIMPLE", ...files }, undefined, readFile).crl).toBeUndefined();
  });

  it("serves every tlsCertificates pair, the client CA from caCertificates", () => {
    expect(
      loadServerCredentials(
        {
          mode: "MUTUAL",
          tlsCertificates: [
            { serverCertificate: "/files/a.crt", privateKey: "/files/a.key" },
            { serverCertificate: "/files/b.crt", privateKey: "/files/b.key" },
          ],
          caCertificates: "/files/ca.crt",
        },
        undefined,
        readFile,
      ),
    ).toEqual({ cert: ["A", "B"], key: ["AK", "BK"], ca: "FILE-CA" });
  });

  it("a mutual mode without any client CA fails closed naming where the CA may come from", () => {
    expect(() =>
      loadServerCredentials({ mode: "MUTUAL", credentialName: "shop" }, "/creds", readFile),
    ).toThrow(/ca.crt, a <credentialName>-cacert Secret, or caCertificates/);
  });

  it("ISTIO_MUTUAL presents the gateway's mesh certificate, and fails closed without one", () => {
    const mesh = { cert: "SVID", key: "SVID-KEY", ca: "MESH-ROOTS" };
    expect(loadServerCredentials({ mode: "ISTIO_MUTUAL" }, "/creds", readFile, mesh)).toBe(mesh);
    expect(() => loadServerCredentials({ mode: "ISTIO_MUTUAL" }, "/creds", readFile)).toThrow(
      /ISTIO_MUTUAL: the gateway has no mesh identity/,
    );
  });

  it("fails closed with the field and the fix when a credential cannot be read", () => {
    expect(() =>
      loadServerCredentials({ mode: "SIMPLE", credentialName: "gone" }, "/creds", readFile),
    ).toThrow(/tls.credentialName: no tls.crt or cert in \/creds\/gone \(the mounted Secret gone\)/);
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

describe("client certificates by mode", () => {
  const credentials = { cert: "C", key: "K", ca: "CA" };
  it("MUTUAL and ISTIO_MUTUAL require a verified certificate; OPTIONAL_MUTUAL only asks; SIMPLE does not ask", () => {
    const options = (mode: "SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL" | "ISTIO_MUTUAL") => {
      const o = serverTlsOptions({ mode }, credentials);
      return [o.requestCert, o.rejectUnauthorized];
    };
    expect(options("SIMPLE")).toEqual([false, false]);
    expect(options("MUTUAL")).toEqual([true, true]);
    expect(options("ISTIO_MUTUAL")).toEqual([true, true]);
    expect(options("OPTIONAL_MUTUAL")).toEqual([true, false]);
    expect(serverTlsOptions({ mode: "SIMPLE" }, credentials, false).ALPNProtocols).toBeUndefined();
  });

  it("OPTIONAL_MUTUAL lets a client without a certificate in, never one with a certificate that does not verify", () => {
    const optional = { mode: "OPTIONAL_MUTUAL" as const, subjectAltNames: ["spiffe://a/b"] };
    expect(clientCertificateRefusal(optional, { presented: false, authorized: false })).toBeUndefined();
    expect(
      clientCertificateRefusal(optional, {
        presented: true,
        authorized: false,
        authorizationError: "UNABLE_TO_GET_ISSUER_CERT",
      }),
    ).toMatch(/not signed by the server's CA/);
    expect(
      clientCertificateRefusal(optional, {
        presented: true,
        authorized: true,
        subjectAltName: "URI:spiffe://a/c",
      }),
    ).toMatch(/subjectAltNames/);
    expect(
      clientCertificateRefusal(optional, {
        presented: true,
        authorized: true,
        subjectAltName: "URI:spiffe://a/b",
      }),
    ).toBeUndefined();
    expect(clientCertificateRefusal({ mode: "MUTUAL" }, { presented: false, authorized: false })).toBe(
      "no client certificate",
    );
    expect(
      clientCertificateRefusal({ mode: "SIMPLE" }, { presented: false, authorized: false }),
    ).toBeUndefined();
  });
});

describe("client certificate pins (verifyCertificateHash / verifyCertificateSpki)", () => {
  const peer = { presented: true, authorized: true, sha256: "ab12cd", spkiSha256: "c3BraQ==" };
  it("accepts a certificate matching either list (hex with or without colons, any case), refuses others", () => {
    expect(
      clientCertificateRefusal({ mode: "MUTUAL", verifyCertificateHash: ["AB:12:CD"] }, peer),
    ).toBeUndefined();
    expect(
      clientCertificateRefusal(
        { mode: "MUTUAL", verifyCertificateHash: ["ffff"], verifyCertificateSpki: ["c3BraQ=="] },
        peer,
      ),
    ).toBeUndefined();
    expect(
      clientCertificateRefusal({ mode: "ISTIO_MUTUAL", verifyCertificateSpki: ["other=="] }, peer),
    ).toMatch(/verifyCertificateHash/);
  });
});

describe("autoPassthroughTarget (Istio's SNI-DNAT names)", () => {
  it("reads port, subset and host from outbound_.<port>_.<subset>_.<host>", () => {
    expect(autoPassthroughTarget("outbound_.9080_.v2_.reviews.default.svc.cluster.local")).toEqual({
      host: "reviews.default.svc.cluster.local",
      cluster: "outbound|9080|v2|reviews.default.svc.cluster.local",
    });
    expect(autoPassthroughTarget("outbound_.443_._.db.default.svc.cluster.local")?.cluster).toBe(
      "outbound|443||db.default.svc.cluster.local",
    );
    expect(autoPassthroughTarget("db.default.svc.cluster.local")).toBeUndefined();
    expect(autoPassthroughTarget("inbound_.9080_._.db.default.svc.cluster.local")).toBeUndefined();
  });
});
