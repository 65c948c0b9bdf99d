import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../broker/logger.ts";
import { loadOrCreateSigningKey, SIGNING_KEY_FILE, TRUST_JWKS_FILE } from "../../broker/signing-key-file.ts";
import { CA_FILES, loadOrCreateCaFiles } from "../../identity/ca-files.ts";
import { createServingCertificate, type ServingCertificate } from "../injector/serving-certificate.ts";
import { ADMIN_TOKEN_FILE, ensureHome, loadOrCreateAdminToken } from "./home.ts";

/**
 * The control plane's state in a Kubernetes Secret (as istiod keeps its CA in `istio-ca-secret`), so a
 * restarted Pod keeps its signing key (proxies go on trusting the policy it signs), its admin token, the
 * self-signed mesh CA (`$JIBE_HOME/ca/*`, so workload certificates stay valid) and the webhook's serving
 * certificate (the caBundle the API server trusts). `$JIBE_HOME` stays scratch space (an emptyDir): at
 * start the Secret's entries are written there, missing ones are generated, and the Secret is created
 * (first start) or completed. Secret keys are the home-relative paths with `/` as `.` (`ca.ca-key.pem`).
 */
export const STATE_KEYS = {
  signingKey: SIGNING_KEY_FILE,
  trustJwks: TRUST_JWKS_FILE,
  adminToken: ADMIN_TOKEN_FILE,
  webhookCert: "webhook-cert.pem",
  webhookKey: "webhook-key.pem",
} as const;

/** The mesh CA's files, as Secret keys (`ca.<file>`) and home-relative paths (`ca/<file>`). */
const CA_ENTRIES = Object.values(CA_FILES).map((file) => ({ key: `ca.${file}`, path: join("ca", file) }));

/** Entries of the state Secret (`data`, decoded), with the resourceVersion they were read at. */
export interface StoredState {
  data: Record<string, string>;
  resourceVersion: string;
}

/** The Secret holding the state: read, create, replace (optimistic concurrency: 409 on a stale version). */
export interface StateSecret {
  readonly name: string;
  read(): Promise<StoredState | undefined>;
  create(data: Record<string, string>): Promise<void>;
  replace(data: Record<string, string>, resourceVersion: string): Promise<void>;
}

export interface RestoreStateOptions {
  secret: StateSecret;
  home: string;
  /** Names of the webhook's serving certificate when one must be generated; none: no webhook entries. */
  webhookDnsNames?: readonly string[];
  /** Keep the self-signed mesh CA too (not for a plug-in CA, which lives elsewhere). */
  meshCa?: { trustDomain: string };
  log: Logger;
  now?: () => number;
}

/**
 * Makes `$JIBE_HOME` hold the state the Secret holds, generating (and saving to the Secret) what is
 * missing. Two replicas starting at once: one create wins (409 for the other, which reads back the
 * winner's state), so both end up with one key.
 *
 * @example
 * ```ts
 * const { webhookTls } = await restoreControlPlaneState({
 *   secret: kubeStateSecret(kc, "jibe-system", "jibe-control-plane-state"), home, log,
 *   webhookDnsNames: ["jibe-control-plane.jibe-system.svc"],
 * });
 * ```
 */
export async function restoreControlPlaneState(
  opts: RestoreStateOptions,
): Promise<{ webhookTls?: ServingCertificate }> {
  const { secret, home, log } = opts;
  await ensureHome(home, log);
  for (let attempt = 0; ; attempt++) {
    const stored = await secret.read();
    const data = { ...(stored?.data ?? {}) };
    for (const key of [STATE_KEYS.signingKey, STATE_KEYS.trustJwks, STATE_KEYS.adminToken] as const) {
      const value = data[key];
      if (value !== undefined)
        await writeFile(join(home, key), value, { mode: key === STATE_KEYS.trustJwks ? 0o644 : 0o600 });
    }
    if (opts.meshCa) {
      await mkdir(join(home, "ca"), { recursive: true, mode: 0o700 });
      for (const { key, path } of CA_ENTRIES) {
        const value = data[key];
        if (value !== undefined)
          await writeFile(join(home, path), value, { mode: key.endsWith("-key.pem") ? 0o600 : 0o644 });
      }
    }
    // Generates the signing key / admin token / CA files when the Secret had none.
    await loadOrCreateSigningKey(home);
    await loadOrCreateAdminToken(home);
    if (opts.meshCa) await loadOrCreateCaFiles({ home, trustDomain: opts.meshCa.trustDomain });
    const next: Record<string, string> = { ...data };
    for (const key of [STATE_KEYS.signingKey, STATE_KEYS.trustJwks, STATE_KEYS.adminToken])
      next[key] = await readFile(join(home, key), "utf8");
    for (const { key, path } of opts.meshCa ? CA_ENTRIES : [])
      next[key] = await readFile(join(home, path), "utf8");
    if (opts.webhookDnsNames && !(data[STATE_KEYS.webhookCert] && data[STATE_KEYS.webhookKey])) {
      const tls = await createServingCertificate({
        dnsNames: opts.webhookDnsNames,
        ipAddresses: ["127.0.0.1"],
        now: (opts.now ?? Date.now)(),
        crypto,
      });
      next[STATE_KEYS.webhookCert] = tls.certPem;
      next[STATE_KEYS.webhookKey] = tls.keyPem;
    }
    const certPem = next[STATE_KEYS.webhookCert];
    const keyPem = next[STATE_KEYS.webhookKey];
    const result = opts.webhookDnsNames && certPem && keyPem ? { webhookTls: { certPem, keyPem } } : {};
    if (stored && sameEntries(stored.data, next)) return result;
    try {
      if (stored) await secret.replace(next, stored.resourceVersion);
      else await secret.create(next);
      log.info(`control-plane state ${stored ? "completed in" : "saved to"} Secret ${secret.name}`);
      return result;
    } catch (error) {
      // Another replica wrote first (409 AlreadyExists/Conflict): take its state.
      if ((error as { code?: number }).code !== 409 || attempt >= 3) throw error;
    }
  }
}

/**
 * Copies the mesh CA files of `home` (`ca/*`) into the state Secret, keeping its other entries: called
 * after each CA rotation step, so a restarted control plane resumes with the rotated CA instead of the
 * one the Secret held at first start. Retries on a concurrent update (409).
 *
 * @example
 * ```ts
 * startControlPlane({ ..., identity: { onCaFilesWritten: () => saveCaFilesToSecret(secret, home) } });
 * ```
 */
export async function saveCaFilesToSecret(secret: StateSecret, home: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const stored = await secret.read();
    const next: Record<string, string> = { ...(stored?.data ?? {}) };
    for (const { key, path } of CA_ENTRIES) next[key] = await readFile(join(home, path), "utf8");
    if (stored && sameEntries(stored.data, next)) return;
    try {
      if (stored) await secret.replace(next, stored.resourceVersion);
      else await secret.create(next);
      return;
    } catch (error) {
      if ((error as { code?: number }).code !== 409 || attempt >= 3) throw error;
    }
  }
}

function sameEntries(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}

/**
 * The state Secret `namespace/name` through client-node. RBAC: `get`/`update` on that name only, and
 * `create` on Secrets of the namespace (Kubernetes cannot limit `create` by name).
 */
export function kubeStateSecret(
  kc: KubeConfig,
  namespace: string,
  name: string,
  labels: Record<string, string> = {},
): StateSecret {
  const core = kc.makeApiClient(CoreV1Api);
  const encode = (data: Record<string, string>) =>
    Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
  const body = (data: Record<string, string>, resourceVersion?: string) => ({
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: { name, namespace, labels, ...(resourceVersion ? { resourceVersion } : {}) },
    data: encode(data),
  });
  return {
    name: `${namespace}/${name}`,
    async read() {
      try {
        const secret = await core.readNamespacedSecret({ name, namespace });
        const data = Object.fromEntries(
          Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
        );
        return { data, resourceVersion: secret.metadata?.resourceVersion ?? "" };
      } catch (error) {
        if ((error as { code?: number }).code === 404) return undefined;
        throw error;
      }
    },
    async create(data) {
      await core.createNamespacedSecret({ namespace, body: body(data) });
    },
    async replace(data, resourceVersion) {
      await core.replaceNamespacedSecret({ name, namespace, body: body(data, resourceVersion) });
    },
  };
}
