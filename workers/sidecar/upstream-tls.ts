import { readFileSync } from "node:fs";
import { isIP, type Socket } from "node:net";
import {
  checkServerIdentity,
  createSecureContext,
  type PeerCertificate,
  type SecureContext,
  type TLSSocket,
  connect as tlsConnect,
} from "node:tls";
import type { UpstreamTlsSettings } from "../../control/compile/snapshot.ts";
import { connectMeshTls, type MeshTls } from "./mesh-tls.ts";
import type { UpstreamAddress, UpstreamOrigination } from "./proxy-context.ts";

/**
 * What `http.Agent#createConnection` is: opens a connection, or reports why it cannot through
 * `callback` (the request then fails before connecting: 503 `UF`).
 */
export type UpstreamDial = (
  options: { host?: string | null; port?: number | null },
  callback: (error: Error | null, socket?: Socket) => void,
) => Socket | undefined;

/** What {@link createUpstreamTlsDialer} needs. */
export interface UpstreamTlsDialerOptions {
  /** The workload's mesh credentials, for `mtls` endpoints. */
  meshTls?: MeshTls;
  /** Reads a certificate file named by a DestinationRule; default `fs.readFileSync`. */
  readFile?: (path: string) => string;
  /** Called when a connection's handshake completed (what the server presented is readable then). */
  onHandshake?: (socket: TLSSocket) => void;
}

/**
 * The sidecar's TLS origination, per endpoint: `mtls` endpoints get the mesh certificate (auto-mTLS,
 * `ISTIO_MUTUAL`, with `subjectAltNames` checked against the server's SPIFFE ID); `tls` endpoints
 * get the DestinationRule's settings:
 *
 * - `SIMPLE`: server-authenticated TLS; the chain is verified against `caCertificates` (default: the
 *   system roots) and the certificate must carry one of `subjectAltNames`, else the SNI name;
 *   `sni` defaults to the service host; `insecureSkipVerify` skips both checks.
 * - `MUTUAL`: as SIMPLE, presenting `clientCertificate` / `privateKey`. `credentialName` (a Kubernetes
 *   Secret) is not read by sidecars: without the files every connection fails with a message saying so.
 *
 * A handshake that fails (unknown CA, SAN mismatch, missing files) is a connect failure: 503 `UF`.
 * Files are read once per cluster settings and then cached.
 *
 * @example
 * ```ts
 * const pool = createUpstreamPool({ dialerFor: createUpstreamTlsDialer({ meshTls }) });
 * ```
 */
export function createUpstreamTlsDialer(
  options: UpstreamTlsDialerOptions,
): (endpoint: UpstreamAddress) => UpstreamDial {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const contexts = new Map<string, SecureContext | Error>();
  const contextFor = (origination: UpstreamOrigination): SecureContext | Error => {
    const key = `${origination.mode}|${JSON.stringify(origination.settings)}`;
    let context = contexts.get(key);
    if (!context) {
      context = buildContext(origination.mode, origination.settings, readFile);
      contexts.set(key, context);
    }
    return context;
  };

  return (endpoint) => {
    const origination = endpoint.origination;
    if (endpoint.transport === "mtls") {
      const meshTls = options.meshTls;
      if (!meshTls) return failWith(new Error("this sidecar has no mesh certificate for mTLS"));
      const connect = connectMeshTls(meshTls, origination?.settings.subjectAltNames ?? []);
      return (connectOptions) => observe(connect(connectOptions) as TLSSocket);
    }
    if (!origination) return failWith(new Error(`no TLS settings for ${endpoint.address}:${endpoint.port}`));
    return (connectOptions, callback) => {
      const context = contextFor(origination);
      if (context instanceof Error) {
        callback(context);
        return undefined;
      }
      return observe(connectWithSettings(connectOptions, origination, context));
    };
  };
  function observe(socket: TLSSocket): TLSSocket {
    const { onHandshake } = options;
    if (onHandshake) socket.once("secureConnect", () => onHandshake(socket));
    return socket;
  }
}

function connectWithSettings(
  options: { host?: string | null; port?: number | null },
  origination: UpstreamOrigination,
  secureContext: SecureContext,
): TLSSocket {
  const { settings } = origination;
  const name = settings.sni ?? origination.serverName;
  const sans = settings.subjectAltNames ?? [];
  return tlsConnect({
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    secureContext,
    ...(isIP(name) === 0 ? { servername: name } : {}),
    rejectUnauthorized: !settings.insecureSkipVerify,
    ALPNProtocols: ["http/1.1"],
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      if (settings.insecureSkipVerify) return undefined;
      if (sans.length === 0) return checkServerIdentity(name, cert);
      const names = subjectAltNamesOf(cert);
      if (sans.some((san) => names.includes(san))) return undefined;
      return new Error(
        `upstream certificate SANs (${names.join(", ") || "none"}) match none of the DestinationRule's subjectAltNames (${sans.join(", ")})`,
      );
    },
  });
}

function buildContext(
  mode: UpstreamOrigination["mode"],
  settings: UpstreamTlsSettings,
  readFile: (path: string) => string,
): SecureContext | Error {
  try {
    const read = (field: keyof UpstreamTlsSettings) => {
      const path = settings[field] as string;
      try {
        return readFile(path);
      } catch (error) {
        throw new Error(`DestinationRule tls.${field} ${path}: ${(error as Error).message}`);
      }
    };
    if (mode === "MUTUAL" && (!settings.clientCertificate || !settings.privateKey)) {
      const hint = settings.credentialName
        ? ` (credentialName ${settings.credentialName} is not read by Jibe sidecars)`
        : "";
      return new Error(
        `DestinationRule tls.mode MUTUAL needs clientCertificate and privateKey files${hint}; set both`,
      );
    }
    return createSecureContext({
      minVersion: "TLSv1.2",
      ...(settings.caCertificates ? { ca: read("caCertificates") } : {}),
      ...(mode === "MUTUAL" ? { cert: read("clientCertificate"), key: read("privateKey") } : {}),
    });
  } catch (error) {
    return error as Error;
  }
}

/** `DNS:a.example, URI:spiffe://x, IP Address:10.0.0.1` → `["a.example", "spiffe://x", "10.0.0.1"]`. */
function subjectAltNamesOf(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? "")
    .split(", ")
    .map((entry) => entry.slice(entry.indexOf(":") + 1))
    .filter(Boolean);
}

function failWith(error: Error): UpstreamDial {
  return (_options, callback) => {
    callback(error);
    return undefined;
  };
}
