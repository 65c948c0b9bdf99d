#!/usr/bin/env node
/**
 * One (shape, size) of the route-lookup benchmark in a process of its own:
 * `node test/bench/route-lookup-process.ts "one host" 10000 200000` prints the rows as JSON.
 */
import { measureRouteLookupHere, SHAPES, type Shape } from "./route-lookup.ts";

const [shape, routes, ops] = process.argv.slice(2);
if (!SHAPES.includes(shape as Shape) || !Number.isInteger(Number(routes)) || !Number.isInteger(Number(ops))) {
  console.error(`usage: route-lookup-process.ts <${SHAPES.join("|")}> <routes> <ops>`);
  process.exit(2);
}
const rows = measureRouteLookupHere({ shapes: [shape as Shape], sizes: [Number(routes)], ops: Number(ops) });
console.log(JSON.stringify(rows));
