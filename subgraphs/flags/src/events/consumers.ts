/**
 * Flags' durable consumer: the services' exposure reports (flags.exposure.reported, on its own FLAGS
 * stream) added into flag_exposures. Each report is applied once (the kit records its event id in
 * processed_events in the same transaction). Also read by `scripts/replay.mjs flags <consumer>`.
 */
import { FlagsEvents } from '@coursegraph/contracts';
import { on } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { addExposures, checkExposureReport } from '../domain/exposures.js';

export const exposureHandlers = [
  on(FlagsEvents.exposureReported, async (tx: Tx, event) => {
    await addExposures(tx, checkExposureReport(event.payload));
  }),
];

export const consumers = {
  'flags-exposures': { stream: 'FLAGS', handlers: exposureHandlers },
};
