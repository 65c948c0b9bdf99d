import type { MeshEventType } from "../../../broker/events.ts";
import { MESH_EVENT_TYPES } from "../../../broker/events.ts";
import { type CommandSpec, stringOption } from "../command.ts";
import { formatEventLine } from "../output.ts";

/** `jibe watch [--kind K] [-n NS] [--type T] [-o text|json]`: one line per verified policy event until Ctrl-C. */
export const watchCommand: CommandSpec = {
  name: "watch",
  summary: "print policy events as they happen, one line each (Ctrl-C to stop)",
  options: [
    { flags: "--kind <kind>", description: "only this kind (vs, dr, we, svc, ...)" },
    { flags: "-n, --namespace <namespace>", description: "only this namespace (default: all)" },
    { flags: "--type <type>", description: "only this event type", choices: MESH_EVENT_TYPES },
    {
      flags: "-o, --output <format>",
      description: "text, or json (one JSON object per line)",
      default: "text",
      choices: ["text", "json"],
    },
  ],
  examples: ["jibe watch", "jibe watch --kind vs -n default -o json"],
  async run(ctx, _args, options) {
    const client = await ctx.client();
    const kind = stringOption(options, "kind");
    const namespace = stringOption(options, "namespace");
    const type = stringOption(options, "type") as MeshEventType | undefined;
    const json = stringOption(options, "output") === "json";
    const events = client.watch(
      { ...(kind ? { kind } : {}), ...(namespace ? { namespace } : {}), ...(type ? { type } : {}) },
      {
        ...(ctx.io.signal ? { signal: ctx.io.signal } : {}),
        onSubscribed: () => ctx.io.stderr.write(`watching policy events at ${client.url} (Ctrl-C to stop)\n`),
      },
    );
    for await (const item of events)
      ctx.io.stdout.write(`${json ? JSON.stringify(item) : formatEventLine(item)}\n`);
    return 0;
  },
};
