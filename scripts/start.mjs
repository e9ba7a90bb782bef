#!/usr/bin/env node
// `npm start`: the whole platform with demo data, from a fresh clone. Installs what is missing,
// starts PostgreSQL, Redis and NATS when none answers, migrates, builds, seeds, starts every
// subgraph and the gateway, prints the endpoint. Ctrl-C stops everything it started.
// Uses only Node built-ins until dependencies are installed.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/env.mjs';
import { prepare } from './lib/prepare.mjs';
import { refuseInProduction } from './lib/refuse-in-production.mjs';

// The demo platform: before installing, starting or seeding anything.
refuseInProduction('npm start (the demo platform)');

const log = (line) => console.log(line);
const t0 = performance.now();
const { started } = await prepare({ log });
const { seedCatalog, seedActivity } = await import('./seed.mjs');
log('start: demo catalog');
await seedCatalog();
const { startPlatform } = await import('./lib/platform.mjs');
const { stopServices, ensureFfmpeg } = await import('./lib/stack/index.mjs');
// The video subgraph's workers run Debian's ffmpeg and ffprobe.
await ensureFfmpeg({ log });
const logDir = path.join(ROOT, '.data/logs');

// Notification mails the demo's learners: a local sink receives it (SMTP_HOST/SMTP_PORT point elsewhere to use a real server).
const { startMailSink, mailSinkPort, mailDir } = await import('./mail-sink.mjs');
fs.mkdirSync(logDir, { recursive: true });
const mailLog = fs.createWriteStream(path.join(logDir, 'mail-sink.log'), { flags: 'a' });
const mailSink = process.env.SMTP_HOST ? null : await startMailSink({ log: (line) => mailLog.write(`${line}\n`) });
if (!process.env.SMTP_HOST && !mailSink)
  log(`start: port ${mailSinkPort()} is taken; mail goes to the SMTP server listening there`);

// A trace backend (Jaeger, docs/observability.md) when asked for, before the services, which then export to it.
const jaegerStack = process.env.START_TRACING === '1' ? await import('./lib/stack/jaeger.mjs') : null;
const jaeger = await jaegerStack?.startJaeger({ log }).catch((err) => {
  console.error(`start: Jaeger not started, the services run untraced: ${err.message}`);
  return null;
});
const stopJaeger = async () => {
  if (jaeger?.started) await jaegerStack.stopJaeger({ log });
};

let platform;
try {
  platform = await startPlatform({
    logDir,
    log,
    env: jaeger ? { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpUrl } : {},
  });
} catch (err) {
  console.error(`start: ${err.message}`);
  await stopJaeger();
  await stopServices(started, { log });
  process.exit(1);
}

try {
  log('start: demo activity (orders through the saga, enrolments, progress)');
  await seedActivity();
} catch (err) {
  console.error(`start: demo activity failed: ${err.message}`);
  await platform.stop();
  await stopJaeger();
  await stopServices(started, { log });
  process.exit(1);
}

// Prometheus over every service's /metrics with the SLO and alerting rules (docs/slo.md), when asked for.
const prometheusStack = process.env.START_PROMETHEUS === '1' ? await import('./lib/stack/prometheus.mjs') : null;
const prometheus = await prometheusStack?.startPrometheus({ log }).catch((err) => {
  console.error(`start: Prometheus not started: ${err.message}`);
  return null;
});

const seconds = ((performance.now() - t0) / 1000).toFixed(1);
log(`
Coursegraph is up (${seconds} s).
  GraphQL endpoint  ${platform.gatewayUrl}/graphql   (POST or GET; the explorer opens there in a browser for admins)
  Demo admin        admin@coursegraph.dev / coursegraph-demo
  Demo learners     learner0001@coursegraph.dev ... / coursegraph-demo
  Logs (JSON)       ${path.relative(process.cwd(), logDir) || logDir}/
  Mail (demo sink)  ${process.env.SMTP_HOST ? `SMTP ${process.env.SMTP_HOST}` : `${path.relative(process.cwd(), mailDir())}/*.eml, one JSON line each in ${path.relative(process.cwd(), logDir)}/mail-sink.log`}
${prometheus ? `  Prometheus        ${prometheus.url}   (alerts: ${prometheus.url}/alerts)\n` : ''}${jaeger ? `  Traces (Jaeger)   ${jaeger.uiUrl}\n` : ''}Ctrl-C stops everything this command started.`);

let stopping = false;
const stopAll = async (signal) => {
  if (stopping) return;
  stopping = true;
  log(`\nstart: ${signal}: stopping services`);
  await platform.stop();
  await mailSink?.close();
  if (prometheus?.started) await prometheusStack.stopPrometheus({ log });
  await stopJaeger();
  await stopServices(started, { log });
  process.exit(0);
};
process.on('SIGINT', () => void stopAll('SIGINT'));
process.on('SIGTERM', () => void stopAll('SIGTERM'));
