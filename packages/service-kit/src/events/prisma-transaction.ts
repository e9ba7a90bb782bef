import type { SqlExecutor, Transaction } from './types.js';

/** Anything with Prisma's interactive `$transaction(fn)`: every context's PrismaClient. */
export interface TransactionalClient<Tx extends SqlExecutor> {
  $transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/**
 * The consumers' (and replays') Transaction over a context's Prisma client: each event is handled
 * in one interactive `$transaction`, with Prisma's default timeout (no handler does unbounded work).
 */
export function prismaTransaction<Tx extends SqlExecutor>(db: TransactionalClient<Tx>): Transaction<Tx> {
  return (fn) => db.$transaction(fn);
}
