import type { Logger } from '../logger.js';
import { startConsumer, type EventConsumer } from './consumer.js';
import type { EventHandler, SqlExecutor, Transaction } from './types.js';

/** A context's durable consumers by name: the stream each reads and its handlers (`events/consumers.ts`). */
export type ConsumerSpecs<Tx extends SqlExecutor> = Record<
  string,
  { stream: string; handlers: readonly EventHandler<Tx>[] }
>;

/**
 * Starts every durable consumer of a context, each handling its events in `transaction`. If one
 * fails to start, those already started are stopped before the error is thrown. `stop()` stops
 * them all (each finishes the event in hand); hand it to runService before the outbox relay, so
 * what the handlers write is still published on the next start.
 */
export async function startConsumers<Tx extends SqlExecutor>(options: {
  context: string;
  consumers: ConsumerSpecs<Tx>;
  natsUrl: string;
  transaction: Transaction<Tx>;
  logger: Logger;
}): Promise<{ consumers: EventConsumer[]; stop(): Promise<void> }> {
  const started: EventConsumer[] = [];
  try {
    for (const [name, spec] of Object.entries(options.consumers)) {
      started.push(
        await startConsumer({
          context: options.context,
          name,
          stream: spec.stream,
          natsUrl: options.natsUrl,
          handlers: [...spec.handlers],
          transaction: options.transaction,
          logger: options.logger,
        }),
      );
    }
  } catch (err) {
    await Promise.all(started.map((c) => c.stop()));
    throw err;
  }
  return { consumers: started, stop: async () => void (await Promise.all(started.map((c) => c.stop()))) };
}
