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
  cert: string;
  key: string;
  /** CAs that client certificates must chain to (MUTUAL). */
  ca?: string;
}

/** Why a server's credentials could not be loaded (its connections are refused: fail closed). */
export class GatewayTlsError extends Error {
  readonly code = "gateway-tls-invalid" as const;
}

/**
 * Reads the certificate, key and (MUTUAL) CA bundle of a SIMPLE or MUTUAL server: from
 * `serverCertificate` / `privateKey` / `caCertificates` file paths, or from `credentialName`
 * resolved in `credentialsDir` the way a Kubernetes TLS Secret is mounted:
 * `<dir>/<credentialName>/tls.crt`, `tls.key` and `ca.crt` (else `<dir>/<credentialName>-cacert/ca.crt`,
 * Istio's separate CA Secret). Throws {@link GatewayTlsError} naming the field and the missing file.
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
): ServerCredentials {
  const read = (path: string, field: string): string => {
    try {
      return readFile(path);
    } catch (error) {
      throw new GatewayTlsError(`tls.${field}: cannot read ${path}: ${(error as Error).message}`);
    }
  };
  const mutual = tls.mode === "MUTUAL";
  if (tls.credentialName) {
    if (!credentialsDir)
      throw new GatewayTlsError(
        `tls.credentialName "${tls.credentialName}": no credentials directory; set JIBE_GATEWAY_CREDENTIALS_DIR (a folder with <credentialName>/tls.crt and tls.key)`,
      );
    const dir = join(credentialsDir, tls.credentialName);
    const credentials: ServerCredentials = {
      cert: read(join(dir, "tls.crt"), "credentialName"),
      key: read(join(dir, "tls.key"), "credentialName"),
    };
    if (!mutual) return credentials;
    let ca: string | undefined;
    try {
      ca = readFile(join(dir, "ca.crt"));
    } catch {
      ca = tls.caCertificates
        ? read(tls.caCertificates, "caCertificates")
        : read(join(`${dir}-cacert`, "ca.crt"), "credentialName");
    }
    return { ...credentials, ca };
  }
  if (!tls.serverCertificate || !tls.privateKey)
    throw new GatewayTlsError(`tls: ${tls.mode} needs credentialName, or serverCertificate and privateKey`);
  return {
    cert: read(tls.serverCertificate, "serverCertificate"),
    key: read(tls.privateKey, "privateKey"),
    ...(mutual
      ? {
          ca: tls.caCertificates
            ? read(tls.caCertificates, "caCertificates")
            : fail("tls.caCertificates: MUTUAL needs the CA certificates that sign client certificates"),
        }
      : {}),
  };
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
 * (OpenSSL names, for TLS 1.2 and below), and for MUTUAL a required, verified client certificate.
 *
 * @example
 * ```ts
 * tls.createServer(serverTlsOptions({ mode: "SIMPLE" }, { cert, key }));
 * ```
 */
export function serverTlsOptions(tls: GatewayServerTls, credentials: ServerCredentials): TlsOptions {
  const mutual = tls.mode === "MUTUAL";
  return {
    cert: credentials.cert,
    key: credentials.key,
    ...(credentials.ca ? { ca: credentials.ca } : {}),
    minVersion: VERSIONS[tls.minProtocolVersion ?? ""] ?? "TLSv1.2",
    maxVersion: VERSIONS[tls.maxProtocolVersion ?? ""] ?? "TLSv1.3",
    ...(tls.cipherSuites?.length ? { ciphers: tls.cipherSuites.join(":") } : {}),
    requestCert: mutual,
    rejectUnauthorized: mutual,
    ALPNProtocols: ["h2", "http/1.1"],
  };
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
