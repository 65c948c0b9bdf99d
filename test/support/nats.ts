import { afterAll, beforeAll } from "vitest";
import {
  type NatsServerHandle,
  type StartNatsServerOptions,
  startNatsServer,
} from "../../broker/nats-launcher.ts";

/**
 * A real nats-server (JetStream + WebSocket) for one node test file: free ports and a temp store
 * directory, both gone after `stop()`. Pass `storeDir`/`port`/`wsPort` to restart a server in
 * place (same data, same address).
 *
 * @example
 * ```ts
 * let nats: NatsServerHandle;
 * beforeAll(async () => { nats = await startTestNats(); });
 * afterAll(() => nats.stop());
 *
 * // or, equivalently:
 * const server = useTestNats();
 * it("...", async () => { const nc = await connectNats(server().url); ... });
 * ```
 */
export function startTestNats(opts: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  return startNatsServer(opts);
}

/** Starts a server in `beforeAll` and stops it in `afterAll`; call the result inside tests. */
export function useTestNats(opts: StartNatsServerOptions = {}): () => NatsServerHandle {
  let handle: NatsServerHandle | undefined;
  beforeAll(async () => {
    handle = await startTestNats(opts);
  });
  afterAll(async () => {
    await handle?.stop();
  });
  return () => {
    if (!handle) throw new Error("useTestNats(): the server is only available inside tests and hooks");
    return handle;
  };
}
