import { join } from "node:path";
import type { SecureVersion, TlsOptions } from "node:tls";
import { hostMatches } from "../../control/compile/host-names.ts";
import type { GatewayServerConfig, GatewayServerTls } from "../../control/compile/snapshot.ts";

/**
 * The server of a port that serves a TLS connection, chosen by its SNI as Envoy chooses a filter
 * chain: an exact host beats the longest matching `*.suffix`, which beats `*`. A connection without
 * SNI is served only by a server whose hosts include `*`. `undefined`: refuse (unknown SNI).
 *
 * @example
 * ```ts
 * selectServer(servers, "shop.example.com")?.origin; // "Gateway/default/shop#1"
 * ```
 */
export function selectServer(
  servers: readonly GatewayServerConfig[],
  serverName: string | undefined,
): GatewayServerConfig | undefined {
  let best: { server: GatewayServerConfig; score: number } | undefined;
  for (const server of servers) {
    for (const host of server.hosts) {
      const score =
        serverName === undefined
          ? host === "*"
            ? 0
            : -1
          : host === serverName
            ? Number.MAX_SAFE_INTEGER
            : hostMatches(host, serverName)
              ? host.length
              : -1;
      if (score >= 0 && (!best || score > best.score)) best = { server, score };
    }
  }
  return best?.server;
}

/** PEM contents of a terminating server's credentials. */
export interface ServerCredentials {
  /** One certificate chain, or several of different key types (`credentialNames`: RSA and ECDSA). */
  cert: string | string[];
  key: string | string[];
  /** CAs that client certificates must chain to (MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL). */
  ca?: string;
  /** Revoked client certificates (PEM CRLs): `caCrl`, or a Secret's `ca.crl`. */
  crl?: string;
}

/**
 * Whether a mode asks clients for a certificate (OPTIONAL_MUTUAL: without requiring one).
 *
 * @example
 * ```ts
 * asksClientCertificate("ISTIO_MUTUAL"); // true
 * ```
 */
export function asksClientCertificate(mode: GatewayServerTls["mode"]): boolean {
  return mode === "MUTUAL" || mode === "OPTIONAL_MUTUAL" || mode === "ISTIO_MUTUAL";
}

/** Why a server's credentials could not be loaded (its connections are refused: fail closed). */
export class GatewayTlsError extends Error {
  readonly code = "gateway-tls-invalid" as const;
}

/**
 * The file names of a mounted Secret's keys, as Istio reads a `credentialName` Secret: a
 * `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`, `ca.crt`) or a generic one (`cert`, `key`,
 * `cacert`).
 */
const SECRET_KEYS = {
  cert: ["tls.crt", "cert"],
  key: ["tls.key", "key"],
  ca: ["ca.crt", "cacert"],
  crl: ["ca.crl"],
} as const;

/**
 * Reads the certificate, key and CA bundle of a terminating server. SIMPLE, MUTUAL and
 * OPTIONAL_MUTUAL take one certificate source:
 *
 * - `credentialName`: the Secret mounted at `<credentialsDir>/<credentialName>/` (`tls.crt`,
 *   `tls.key`, `ca.crt`, or a generic Secret's `cert`, `key`, `cacert`); the mutual modes take the
 *   client CA (and `ca.crl`) from that Secret, else from Istio's separate `<credentialName>-cacert`
 *   Secret, else from `caCertificates` (and `caCrl`);
 * - `credentialNames`: each Secret's certificate is served (an RSA and an ECDSA one: the client's
 *   signature algorithms pick), the client CA found as above from the first;
 * - `tlsCertificates`: several `serverCertificate` / `privateKey` file pairs, likewise;
 * - `serverCertificate` / `privateKey` (and `caCertificates`) file paths.
 *
 * ISTIO_MUTUAL presents the gateway's mesh certificate and trusts the mesh roots (`mesh`). Throws
 * {@link GatewayTlsError} naming the field and the missing file.
 *
 * @example
 * ```ts
 * loadServerCredentials({ mode: "SIMPLE", credentialName: "shop-cert" }, "/etc/jibe/credentials", (p) => readFileSync(p, "utf8"));
 * ```
 */
export function loadServerCredentials(
  tls: GatewayServerTls,
  credentialsDir: string | undefined,
  readFile: (path: string) => string,
  mesh?: ServerCredentials,
): ServerCredentials {
  const read = (path: string, field: string): string => {
    try {
      return readFile(path);
    } catch (error) {
      throw new GatewayTlsError(`tls.${field}: cannot read ${path}: ${(error as Error).message}`);
    }
  };
  const readSecretKey = (dir: string, key: keyof typeof SECRET_KEYS): string | undefined => {
    for (const name of SECRET_KEYS[key])
      try {
        return readFile(join(dir, name));
      } catch {}
    return undefined;
  };
  if (tls.mode === "ISTIO_MUTUAL") {
    if (!mesh)
      throw new GatewayTlsError(
        "tls.mode ISTIO_MUTUAL: the gateway has no mesh identity to present; start it with a workload identity (JIBE_JOIN_TOKEN…) or use MUTUAL with a credentialName",
      );
    return mesh;
  }
  const mutual = asksClientCertificate(tls.mode);
  const clientCa = (fromSecret: () => string | undefined): string | undefined => {
    if (!mutual) return undefined;
    const ca = fromSecret() ?? (tls.caCertificates ? read(tls.caCertificates, "caCertificates") : undefined);
    return (
      ca ??
      fail(
        `tls.caCertificates: ${tls.mode} needs the CA certificates that sign client certificates (a credentialName Secret with ca.crt, a <credentialName>-cacert Secret, or caCertificates)`,
      )
    );
  };
  const pairs = (
    certs: string[],
    keys: string[],
    ca: string | undefined,
    crlFromSecret?: () => string | undefined,
  ): ServerCredentials => {
    const crl = !mutual
      ? undefined
      : (crlFromSecret?.() ?? (tls.caCrl ? read(tls.caCrl, "caCrl") : undefined));
    return {
      ...(certs.length === 1 ? { cert: certs[0]!, key: keys[0]! } : { cert: certs, key: keys }),
      ...(ca !== undefined ? { ca } : {}),
      ...(crl !== undefined ? { crl } : {}),
    };
  };

  const names = tls.credentialNames?.length
    ? tls.credentialNames
    : tls.credentialName
      ? [tls.credentialName]
      : [];
  if (names.length > 0) {
    const field = tls.credentialNames?.length ? "credentialNames" : "credentialName";
    if (!credentialsDir)
      throw new GatewayTlsError(
        `tls.${field} "${names.join(", ")}": no credentials directory; set JIBE_GATEWAY_CREDENTIALS_DIR (a folder with <credentialName>/tls.crt and tls.key)`,
      );
    const dirs = names.map((name) => join(credentialsDir, name));
    const secretKey = (dir: string, key: "cert" | "key") =>
      readSecretKey(dir, key) ??
      fail(
        `tls.${field}: no ${SECRET_KEYS[key].join(" or ")} in ${dir} (the mounted Secret ${dir.slice(credentialsDir.length + 1)})`,
      );
    const first = dirs[0]!;
    return pairs(
      dirs.map((dir) => secretKey(dir, "cert")),
      dirs.map((dir) => secretKey(dir, "key")),
      clientCa(() => readSecretKey(first, "ca") ?? readSecretKey(`${first}-cacert`, "ca")),
      () => readSecretKey(first, "crl") ?? readSecretKey(`${first}-cacert`, "crl"),
    );
  }
  if (tls.tlsCertificates?.length) {
    const files = tls.tlsCertificates.map((c, i) => {
      if (!c.serverCertificate || !c.privateKey)
        fail(`tls.tlsCertificates[${i}]: needs serverCertificate and privateKey`);
      return {
        cert: read(c.serverCertificate, `tlsCertificates[${i}].serverCertificate`),
        key: read(c.privateKey, `tlsCertificates[${i}].privateKey`),
      };
    });
    return pairs(
      files.map((f) => f.cert),
      files.map((f) => f.key),
      clientCa(() => undefined),
    );
  }
  if (!tls.serverCertificate || !tls.privateKey)
    throw new GatewayTlsError(`tls: ${tls.mode} needs credentialName, or serverCertificate and privateKey`);
  return pairs(
    [read(tls.serverCertificate, "serverCertificate")],
    [read(tls.privateKey, "privateKey")],
    clientCa(() => undefined),
  );
}

function fail(message: string): never {
  throw new GatewayTlsError(message);
}

const VERSIONS: Record<string, SecureVersion | undefined> = {
  TLSV1_0: "TLSv1",
  TLSV1_1: "TLSv1.1",
  TLSV1_2: "TLSv1.2",
  TLSV1_3: "TLSv1.3",
};

/**
 * The TLS server options of a terminating server: its credentials, `minProtocolVersion` /
 * `maxProtocolVersion` (Envoy's server defaults when unset: TLS 1.2 to 1.3), `cipherSuites`
 * (OpenSSL names, for TLS 1.2 and below); MUTUAL and ISTIO_MUTUAL require a verified client
 * certificate, OPTIONAL_MUTUAL asks for one (a presented one must verify: `clientCertificateAllowed`).
 * ALPN offers `h2` and `http/1.1` to HTTP servers only (`http: false` for a TLS server forwarding TCP).
 *
 * @example
 * ```ts
 * tls.createServer(serverTlsOptions({ mode: "SIMPLE" }, { cert, key }));
 * ```
 */
export function serverTlsOptions(
  tls: GatewayServerTls,
  credentials: ServerCredentials,
  http = true,
): TlsOptions {
  const asks = asksClientCertificate(tls.mode);
  return {
    cert: credentials.cert,
    key: credentials.key,
    ...(credentials.ca ? { ca: credentials.ca } : {}),
    ...(credentials.crl ? { crl: credentials.crl } : {}),
    minVersion: VERSIONS[tls.minProtocolVersion ?? ""] ?? "TLSv1.2",
    maxVersion: VERSIONS[tls.maxProtocolVersion ?? ""] ?? "TLSv1.3",
    ...(tls.cipherSuites?.length ? { ciphers: tls.cipherSuites.join(":") } : {}),
    requestCert: asks,
    rejectUnauthorized: asks && tls.mode !== "OPTIONAL_MUTUAL",
    ...(http ? { ALPNProtocols: ["h2", "http/1.1"] } : {}),
  };
}

/** What the handshake learnt of a client certificate. */
export interface PeerCertificateFacts {
  presented: boolean;
  /** Chains to the server's CA (and is not revoked by its CRL). */
  authorized: boolean;
  authorizationError?: Error | string;
  /** node:crypto's `subjectAltName`: `DNS:a.test, URI:spiffe://…`. */
  subjectAltName?: string;
  /** SHA-256 of the certificate (DER), hex. */
  sha256?: string;
  /** SHA-256 of its SubjectPublicKeyInfo (DER), base64. */
  spkiSha256?: string;
}

/**
 * Whether a terminated connection's client may go on: under OPTIONAL_MUTUAL a client without a
 * certificate may, one whose certificate does not verify may not; under the mutual modes a
 * certificate (already verified by the handshake) must carry one of `subjectAltNames` when set,
 * and match one of `verifyCertificateHash` or `verifyCertificateSpki` when either is set (Envoy:
 * a match in either list accepts). `undefined`: allowed; otherwise why not.
 *
 * @example
 * ```ts
 * clientCertificateRefusal({ mode: "OPTIONAL_MUTUAL" }, { presented: false, authorized: false }); // undefined
 * ```
 */
export function clientCertificateRefusal(
  tls: GatewayServerTls | undefined,
  peer: PeerCertificateFacts,
): string | undefined {
  if (!asksClientCertificate(tls?.mode)) return undefined;
  if (!peer.presented) return tls?.mode === "OPTIONAL_MUTUAL" ? undefined : "no client certificate";
  if (!peer.authorized)
    return `client certificate not signed by the server's CA or revoked (${String(peer.authorizationError ?? "unverified")})`;
  if (!clientSanAllowed(peer.subjectAltName, tls?.subjectAltNames))
    return "client certificate SANs are not among tls.subjectAltNames";
  const hashes = (tls?.verifyCertificateHash ?? []).map((h) => h.replace(/:/g, "").toLowerCase());
  const spkis = tls?.verifyCertificateSpki ?? [];
  if (hashes.length + spkis.length === 0) return undefined;
  const hashMatches =
    peer.sha256 !== undefined && hashes.includes(peer.sha256.replace(/:/g, "").toLowerCase());
  const spkiMatches = peer.spkiSha256 !== undefined && spkis.includes(peer.spkiSha256);
  return hashMatches || spkiMatches
    ? undefined
    : "client certificate matches none of tls.verifyCertificateHash / verifyCertificateSpki";
}

/**
 * Whether a verified client certificate carries one of `subjectAltNames` (MUTUAL; DNS, URI or IP
 * SANs, compared exactly). No list: any certificate the CA signed is accepted.
 */
export function clientSanAllowed(
  peerSubjectAltName: string | undefined,
  subjectAltNames: readonly string[] | undefined,
): boolean {
  if (!subjectAltNames?.length) return true;
  const names = (peerSubjectAltName ?? "")
    .split(", ")
    .map((entry) => entry.slice(entry.indexOf(":") + 1))
    .filter(Boolean);
  return subjectAltNames.some((san) => names.includes(san));
}
