/**
 * A service's feature flags (ADR-006, issue 19): the OpenFeature client of the service's own domain,
 * served by CoursegraphFlagProvider from an in-memory cache that is
 *
 * - loaded whole at start from the flags subgraph's `GET /internal/flags` (signed with
 *   INTERNAL_SIGNING_SECRET, like identity's partner look-ups), again every FLAGS_REFRESH_MS, and
 *   again after every NATS reconnect (changes published meanwhile were missed);
 * - kept current by `flags.flag.changed`, read as a plain NATS subscriber (the event carries the
 *   whole flag: no call back), so a kill switch reaches every process within the relay's latency.
 *
 * Nothing here waits on NATS or on the flags subgraph to serve: until the first load succeeds,
 * evaluations answer the code's defaults (reason ERROR). Exposures are counted by a hook and
 * published every FLAGS_EXPOSURE_REPORT_MS as `flags.exposure.reported`.
 *
 * The event types come from the caller (`FlagsEvents` of @coursegraph/contracts, which depends on
 * this kit): `changeEvent: FlagsEvents.changed, exposureEvent: FlagsEvents.exposureReported`.
 */
import os from 'node:os';
import { create, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { NOOP_PROVIDER, OpenFeature, type Client, type EvaluationContext } from '@openfeature/server-sdk';
import { signInternalRequest } from '../internal-signature.js';
import type { Logger } from '../logger.js';
import { newId } from '../ids.js';
import { envelopeHeaders, parseEvent } from '../events/envelope.js';
import { newTraceparent } from '../events/traceparent.js';
import { connectNats } from '../events/nats.js';
import type { EventType } from '../events/types.js';
import { startPeriodicJob, type PeriodicJob } from '../periodic-job.js';
import { FlagCache } from './cache.js';
import { flagFromWire, type FlagContext, type FlagDefinition } from './definition.js';
import { ExposureCounts, exposureHook, type ExposureCount } from './exposures.js';
import { CoursegraphFlagProvider } from './provider.js';

/** The flags subgraph's internal route: every flag, tombstones included, as `{ flags: [...] }`. */
export const FLAGS_INTERNAL_PATH = '/internal/flags';
/** The context that owns the flag events (their subjects start with it). */
const FLAGS_CONTEXT = 'flags';
const LOAD_TIMEOUT_MS = 2_000;
const PUBLISH_TIMEOUT_MS = 5_000;
/** Counts per message: a row is under 200 bytes, so a report stays far below NATS's max_payload. */
const MAX_COUNTS_PER_REPORT = 500;

export interface FlagsOptions {
  /** The service's name: its OpenFeature domain and its reports' `reporter`. */
  service: string;
  /** The flags subgraph's base URL (FLAGS_URL). */
  flagsUrl: string;
  /** INTERNAL_SIGNING_SECRET. */
  signingSecret: string;
  /** The service's own NATS URL (its user may subscribe to flags.flag.changed and publish exposure reports). */
  natsUrl: string;
  logger: Logger;
  changeEvent: EventType<DescMessage>;
  exposureEvent: EventType<DescMessage>;
  /** FLAGS_REFRESH_MS. Default 60 000. */
  refreshMs?: number;
  /** FLAGS_EXPOSURE_REPORT_MS. Default 10 000. */
  exposureReportMs?: number;
}

export interface Flags {
  /** The OpenFeature client of this service's domain, for evaluation details and hooks. */
  readonly client: Client;
  readonly cache: FlagCache;
  /** A boolean flag for `context`; `defaultValue` when the flag is unknown or not loaded. */
  isOn(key: string, defaultValue: boolean, context?: FlagContext): Promise<boolean>;
  /** A variant flag's variant for `context`; `defaultValue` when the flag is unknown or not loaded. */
  variant(key: string, defaultValue: string, context?: FlagContext): Promise<string>;
  /** Loads every flag now; false when the flags subgraph did not answer. */
  reload(): Promise<boolean>;
  /** Publishes the exposure counts now (what the timer does). */
  reportExposures(): Promise<void>;
  /** Resolves once the subscription to flag changes is in place (tests wait for it). */
  readonly subscribed: Promise<void>;
  close(): Promise<void>;
}

export async function startFlags(options: FlagsOptions): Promise<Flags> {
  const log = options.logger.child({ component: 'flags' });
  const cache = new FlagCache();
  const counts = new ExposureCounts();
  // A domain per instance: tests run several services in one process, each with its own flags.
  const domain = `${options.service}:${newId()}`;
  await OpenFeature.setProviderAndWait(domain, new CoursegraphFlagProvider(cache, [exposureHook(counts)]));
  const client = OpenFeature.getClient(domain);

  let loading: Promise<boolean> | null = null;
  const load = async (): Promise<boolean> => {
    const url = new URL(FLAGS_INTERNAL_PATH, options.flagsUrl);
    try {
      const res = await fetch(url, {
        headers: signInternalRequest(options.signingSecret, FLAGS_INTERNAL_PATH),
        signal: AbortSignal.timeout(LOAD_TIMEOUT_MS),
      });
      if (res.status !== 200) throw new Error(`flags answered ${res.status}`);
      const body = (await res.json()) as { flags?: unknown };
      if (!Array.isArray(body.flags)) throw new Error('flags answered without a list of flags');
      const changed = cache.applyLoad(body.flags.map(flagFromWire));
      log.debug({ flags: body.flags.length, changed }, 'flags loaded');
      return true;
    } catch (err) {
      log.warn(
        { err: (err as Error).message, url: url.origin, loaded: cache.loaded },
        cache.loaded ? 'flags not reloaded; the copy held is used' : 'flags not loaded; code defaults answer',
      );
      return false;
    }
  };
  // One load at a time: the start, the timer and a reconnect may ask together.
  const reload = (): Promise<boolean> => (loading ??= load().finally(() => (loading = null)));

  const applyChange = (flag: FlagDefinition) => {
    if (cache.apply(flag)) log.info({ flag: flag.key, version: flag.version, enabled: flag.enabled }, 'flag changed');
  };

  // NATS: the change feed and the exposure reports. Connected in the background (the service serves meanwhile).
  const stopping = new AbortController();
  let nc: NatsConnection | null = null;
  let js: JetStreamClient | null = null;
  let subscription: Subscription | null = null;
  const subscribed = connectNats(options.natsUrl, {
    name: `${options.service}-flags`,
    logger: log,
    signal: stopping.signal,
  }).then(
    async (connection) => {
      nc = connection;
      js = jetstream(connection);
      subscription = connection.subscribe(options.changeEvent.subject, {
        callback: (err, msg) => {
          if (err) return void log.warn({ err: err.message }, 'flag changes feed failed; the timer reloads');
          try {
            const { payload } = parseEvent(
              { subject: msg.subject, headers: msg.headers, data: msg.data, streamSequence: 0, deliveryCount: 1 },
              options.changeEvent,
            );
            applyChange(flagFromWire(payload));
          } catch (parseError) {
            // A change we cannot read may be any flag's: load them all.
            log.warn({ err: (parseError as Error).message }, 'unreadable flag change; loading every flag');
            void reload();
          }
        },
      });
      await connection.flush();
      // Changes made between the first load and the subscription were missed.
      await reload();
      void (async () => {
        for await (const status of connection.status()) if (status.type === 'reconnect') void reload();
      })();
    },
    () => undefined, // aborted by close() before NATS answered
  );

  await reload();
  const refresh: PeriodicJob = startPeriodicJob('flags-refresh', options.refreshMs ?? 60_000, reload, log);

  const reporter = `${options.service}:${os.hostname()}:${process.pid}`;
  const publishCounts = async (rows: ExposureCount[]) => {
    const type = options.exposureEvent;
    const id = newId();
    const payload = create(type.schema, {
      reporter,
      counts: rows.map((r) => ({ flagKey: r.flagKey, variant: r.variant, day: r.day, count: BigInt(r.count) })),
    } as never);
    const headers = envelopeHeaders({
      id,
      subject: type.subject,
      source: FLAGS_CONTEXT,
      time: new Date(),
      traceparent: newTraceparent(),
    });
    await js!.publish(type.subject, toBinary(type.schema, payload), {
      msgID: id,
      headers,
      timeout: PUBLISH_TIMEOUT_MS,
    });
  };
  let reporting: Promise<void> = Promise.resolve();
  const reportExposures = (): Promise<void> => {
    const next = reporting.then(async () => {
      if (!js || counts.size === 0) return;
      if (counts.dropped > 0) log.warn({ dropped: counts.dropped }, 'exposure counts dropped: too many distinct ones');
      counts.dropped = 0;
      const rows = counts.take();
      for (let i = 0; i < rows.length; i += MAX_COUNTS_PER_REPORT) {
        const chunk = rows.slice(i, i + MAX_COUNTS_PER_REPORT);
        try {
          await publishCounts(chunk);
        } catch (err) {
          counts.restore(rows.slice(i));
          throw new Error(`exposure report not published, kept for the next one: ${(err as Error).message}`);
        }
      }
    });
    reporting = next.catch(() => undefined);
    return next;
  };
  const reports = startPeriodicJob('flags-exposures', options.exposureReportMs ?? 10_000, reportExposures, log);

  const contextOf = (context: FlagContext | undefined): EvaluationContext => (context ?? {}) as EvaluationContext;
  let closed: Promise<void> | undefined;
  return {
    client,
    cache,
    subscribed,
    isOn: (key, defaultValue, context) => client.getBooleanValue(key, defaultValue, contextOf(context)),
    variant: (key, defaultValue, context) => client.getStringValue(key, defaultValue, contextOf(context)),
    reload,
    reportExposures,
    close() {
      closed ??= (async () => {
        await refresh.stop();
        await reports.stop();
        await reportExposures().catch((err: Error) => log.warn({ err: err.message }, 'last exposure report failed'));
        stopping.abort();
        await subscribed;
        subscription?.unsubscribe();
        if (nc) await (nc as NatsConnection).drain().catch(() => undefined);
        await OpenFeature.setProviderAndWait(domain, NOOP_PROVIDER);
      })();
      return closed;
    },
  };
}
