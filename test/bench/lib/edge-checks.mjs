// What the gateway's checks themselves cost, measured in-process on the workload's own operations.
// The platform's throughput moves by several percent between identical rounds on this shared
// two-core machine, more than the checks cost, so the limits-on/limits-off ratio alone cannot tell
// a few percent from noise; this measures the checks directly:
//   - operation limits on a first sight of a document (parse with the token limit, shape, cost), and
//     on a repeat (cost only: yoga keeps the parsed document, and the shape is judged once per document);
//   - one rate-limit draw in Redis (the Lua script every request runs), its CPU in this process (the
//     ioredis client, as in the gateway) and its round trip.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../../scripts/lib/env.mjs';

const cpuMicros = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round2 = (x) => Math.round(x * 100) / 100;

/** `ops`: the workload's operations ({ query, variables }); `redisUrl`: a Redis database it may write to. */
export async function measureChecks({ ops, redisUrl, passes = 5, draws = 3000 }) {
  const kit = await import(path.join(ROOT, 'packages/service-kit/dist/index.js'));
  const { RateLimitStore } = await import(path.join(ROOT, 'gateway/dist/rate-limit/store.js'));
  // The defaults every service runs with.
  const config = kit.readConfig(kit.commonSettings, {});
  const limiter = kit.createOperationLimiter({
    config,
    sdl: fs.readFileSync(path.join(ROOT, 'schema/supergraph.graphql'), 'utf8'),
  });
  const anonymous = { viewer: null };

  const check = (document, op) => {
    const refusal =
      limiter.shapeRefusal(document) ??
      limiter.costRefusal({ document, variableValues: op.variables, contextValue: anonymous });
    if (refusal) throw new Error(`a workload operation was refused: ${refusal.message}`);
  };

  const perOp = (run) => {
    const samples = [];
    for (let pass = 0; pass < passes; pass++) {
      const t0 = cpuMicros();
      const n = run();
      samples.push((cpuMicros() - t0) / n);
    }
    return round2(median(samples));
  };

  const firstSight = perOp(() => {
    for (const op of ops) check(limiter.parse(op.query), op);
    return ops.length;
  });
  const documents = ops.map((op) => limiter.parse(op.query));
  const repeat = perOp(() => {
    for (let k = 0; k < 20; k++) ops.forEach((op, i) => check(documents[i], op));
    return ops.length * 20;
  });

  const redis = kit.createRedis(redisUrl);
  const store = new RateLimitStore(redis);
  const bucket = (i) => ({ key: `bench:edge:checks:${i % 500}`, limit: 1_000_000_000, windowMs: 60_000, cost: 1 });
  for (let i = 0; i < 200; i++) await store.take([bucket(i)]); // warm the script cache and the JIT
  const cpuSamples = [];
  const wallSamples = [];
  for (let pass = 0; pass < passes; pass++) {
    const cpu0 = cpuMicros();
    const wall0 = performance.now();
    for (let i = 0; i < draws / passes; i++) await store.take([bucket(i)]);
    cpuSamples.push((cpuMicros() - cpu0) / (draws / passes));
    wallSamples.push(((performance.now() - wall0) * 1000) / (draws / passes));
  }
  await redis.quit();

  return {
    operation_limits_first_sight_us: firstSight,
    operation_limits_repeat_us: repeat,
    rate_limit_draw_cpu_us: round2(median(cpuSamples)),
    rate_limit_draw_round_trip_us: round2(median(wallSamples)),
  };
}
