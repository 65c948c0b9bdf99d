import type { Logger } from "../../broker/logger.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import { resolveNatsServer } from "../../broker/nats-launcher.ts";
import { jibeHome } from "./home.ts";
import { prepareKubernetesSide } from "./kubernetes.ts";
import { meshCaOptions } from "./mesh-ca-env.ts";
import { startControlPlane } from "./start.ts";

/**
 * The control plane as its own process: the bus from `JIBE_NATS_URL` (or a launched nats-server), home from
 * `JIBE_HOME`, and the admin API where `JIBE_ADMIN_URL` points (default http://127.0.0.1:15000); with
 * `JIBE_K8S_CLUSTER` / `JIBE_INJECTOR=true` also the Kubernetes adapter / injection webhook (kubernetes.ts).
 * It always runs the mesh CA (mesh-ca-env.ts: join tokens, and service-account tokens via TokenReview
 * on Kubernetes).
 * Resolves to a `stop` that shuts everything down in reverse order.
 *
 * @example
 * ```ts
 * const stop = await runStandaloneControlPlane(process.env, console);
 * process.once("SIGTERM", () => void stop());
 * ```
 */
export async function runStandaloneControlPlane(
  env: Readonly<Record<string, string | undefined>>,
  log: Logger,
): Promise<() => Promise<void>> {
  const admin = adminListen(env.JIBE_ADMIN_URL);
  const identity = meshCaOptions(env);
  const nats = await resolveNatsServer({ ...env });
  try {
    const nc = await connectNats(nats.url, { name: "jibe-control-plane" }).catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      const hint = nats.external ? "; check JIBE_NATS_URL" : "";
      throw new Error(`cannot connect to NATS at ${nats.url} (${why})${hint}`, { cause: error });
    });
    const kube = await prepareKubernetesSide(env, log).catch(async (error) => {
      await nc.close();
      throw error;
    });
    const plane = await startControlPlane({
      nc,
      home: jibeHome(env),
      admin,
      log,
      identity: {
        ...identity,
        ...(kube?.onCaFilesWritten ? { onCaFilesWritten: kube.onCaFilesWritten } : {}),
      },
      ...(kube?.injector ? { injector: kube.injector } : {}),
    }).catch(async (error) => {
      await nc.close();
      throw error;
    });
    const detach = await kube?.attach(plane).catch(async (error) => {
      await plane.stop();
      await nc.close();
      throw error;
    });
    log.info(
      `control plane up: admin API ${plane.adminUrl}, NATS ${nats.url}${nats.external ? "" : " (launched)"}`,
    );
    return async () => {
      await detach?.();
      await plane.stop();
      await nc.drain();
      await nats.stop();
    };
  } catch (error) {
    await nats.stop();
    throw error;
  }
}

function adminListen(url: string | undefined): { host: string; port: number } {
  if (!url) return { host: "127.0.0.1", port: 15000 };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`JIBE_ADMIN_URL=${url} is not a URL; use e.g. http://127.0.0.1:15000`);
  }
  if (parsed.protocol !== "http:")
    throw new Error(`JIBE_ADMIN_URL=${url}: the admin API speaks http:// only`);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ""), port: parsed.port ? Number(parsed.port) : 80 };
}
