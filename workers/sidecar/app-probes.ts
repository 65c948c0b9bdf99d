import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { SidecarError } from "./errors.ts";

/** The app's original probe, as the injector records it for a rewritten path (Istio's KUBE_APP_PROBERS). */
export interface AppProber {
  httpGet?: {
    path?: string;
    port: number;
    scheme?: "HTTP" | "HTTPS";
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { port: number };
  /** Default 1 s, as the kubelet's. */
  timeoutSeconds?: number;
}

/** Rewritten path (`/app-health/<container>/livez|readyz|startupz`) → the app's original probe. */
export type AppProbers = Record<string, AppProber>;

/** What a probe answered: the app's status (HTTP), 200 (TCP connected) or 500 with the reason. */
export interface ProbeAnswer {
  status: number;
  body: string;
}

/**
 * Reads `JIBE_KUBE_APP_PROBERS` / `ISTIO_KUBE_APP_PROBERS` (JSON written by the injector, see
 * `control/injector/probe-rewrite.ts`). Paths must start with `/app-health/`; each entry needs an
 * `httpGet` or `tcpSocket` with a numeric port.
 *
 * @example
 * ```ts
 * parseAppProbers('{"/app-health/web/readyz":{"httpGet":{"path":"/ready","port":8080}}}');
 * ```
 */
export function parseAppProbers(json: string): AppProbers {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw invalid(`is not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw invalid("must be a JSON object of path → probe");
  const probers: AppProbers = {};
  for (const [path, value] of Object.entries(parsed)) {
    if (!path.startsWith("/app-health/")) throw invalid(`path ${path} must start with /app-health/`);
    const prober = value as AppProber;
    const port = prober?.httpGet?.port ?? prober?.tcpSocket?.port;
    if (!Number.isInteger(port)) throw invalid(`${path} needs httpGet.port or tcpSocket.port as a number`);
    probers[path] = prober;
  }
  return probers;
}

/**
 * Runs an app's original probe from inside the pod, for the kubelet (whose plaintext probe could not
 * pass a STRICT inbound listener): an HTTP(S) GET to 127.0.0.1 (HTTPS without certificate checks, as
 * the kubelet), answering with the app's status; or a TCP connect. Failures and timeouts answer 500.
 *
 * @example
 * ```ts
 * const { status } = await runAppProbe({ httpGet: { path: "/ready", port: 8080 } });
 * ```
 */
export function runAppProbe(prober: AppProber, host = "127.0.0.1"): Promise<ProbeAnswer> {
  const timeoutMs = (prober.timeoutSeconds ?? 1) * 1000;
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: ProbeAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const fail = (why: string) => done({ status: 500, body: `app probe failed: ${why}\n` });
    let cancel = () => {};
    const timer = setTimeout(() => {
      cancel();
      fail(`no answer within ${timeoutMs} ms`);
    }, timeoutMs);
    if (prober.httpGet) {
      const get = prober.httpGet;
      const headers: Record<string, string> = { "user-agent": "kube-probe/jibe" };
      for (const header of get.httpHeaders ?? []) headers[header.name] = header.value;
      const send = get.scheme === "HTTPS" ? httpsRequest : httpRequest;
      const req = send(
        { host, port: get.port, path: get.path ?? "/", headers, rejectUnauthorized: false, agent: false },
        (res) => {
          res.resume();
          res.once("end", () => done({ status: res.statusCode ?? 500, body: "" }));
        },
      );
      req.once("error", (error) => fail(error.message));
      cancel = () => req.destroy();
      req.end();
      return;
    }
    const socket = connect({ host, port: prober.tcpSocket?.port ?? 0 });
    socket.once("connect", () => {
      socket.destroy();
      done({ status: 200, body: "" });
    });
    socket.once("error", (error) => fail(error.message));
    cancel = () => socket.destroy();
  });
}

function invalid(message: string): SidecarError {
  return new SidecarError("sidecar-config-invalid", `JIBE_KUBE_APP_PROBERS ${message}`, { user: true });
}
