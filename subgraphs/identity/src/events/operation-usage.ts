/**
 * identity-operation-usage: the gateway's usage reports added into identity.operation_usage. Each
 * report is applied once (the kit records its event id in processed_events in the same
 * transaction), so a redelivered report does not count twice. A report that fails its checks
 * throws: the kit retries it, then dead-letters it, and nothing of it is written.
 */
import { GatewayEvents } from '@coursegraph/contracts';
import { on } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { addUsageReport, checkUsageReport } from '../domain/operation-usage.js';

export const operationUsageHandlers = [
  on(GatewayEvents.usageReported, async (tx: Tx, event) => {
    const periodStart = checkUsageReport(event.payload);
    await addUsageReport(tx, event.payload, periodStart);
  }),
];
