/**
 * The deployment past one machine (deploy/, docs/deployment.md): every Kubernetes manifest is valid
 * against the Kubernetes schemas (kubernetes-models, offline), and the manifests agree with the
 * code: probes on each service's real paths and port, an autoscaler and a disruption budget per
 * Deployment, only settings the services know, Secrets and ConfigMaps that exist with the keys
 * referenced, and settings that pass the production profile. The Citus plan is checked against the
 * Prisma schemas by scripts/check-distribution.mjs.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { inspectConfig, outboxSettings, streamRetentionSettings, type ConfigSpec } from '@coursegraph/service-kit';
import { ROOT } from '../scripts/lib/env.mjs';
import { checkDistribution, DEFAULT_PLAN, loadTables } from '../scripts/check-distribution.mjs';
import { gatewaySettings } from '../gateway/src/config.js';
import { identitySettings } from '../subgraphs/identity/src/config.js';
import { courseSettings } from '../subgraphs/course/src/config.js';
import { enrollmentSettings } from '../subgraphs/enrollment/src/config.js';
import { paymentSettings, checkPaymentConfig, type PaymentConfig } from '../subgraphs/payment/src/config.js';
import { notificationSettings } from '../subgraphs/notification/src/config.js';
import { learningSettings } from '../subgraphs/learning/src/config.js';
import { aiSettings, checkAiConfig, type AiConfig } from '../subgraphs/ai/src/config.js';
import { flagsServiceSettings } from '../subgraphs/flags/src/config.js';

// Manifests are untyped YAML.
type Doc = Record<string, any>;

const K8S = path.join(ROOT, 'deploy/k8s');
const BASE = path.join(K8S, 'base');
const OVERLAY = path.join(K8S, 'overlays/example');
const SECRETS = path.join(K8S, 'secrets/secrets.template.yaml');

function readDocs(file: string): Doc[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    return d.toJS() as Doc;
  });
}
const yamlFiles = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .map((f) => path.join(dir, f));

const base = yamlFiles(BASE).flatMap((file) => readDocs(file).map((doc) => ({ file, doc })));
const overlay = yamlFiles(OVERLAY).flatMap((file) => readDocs(file).map((doc) => ({ file, doc })));
const secrets = readDocs(SECRETS);
const all = [...base, ...overlay, ...secrets.map((doc) => ({ file: SECRETS, doc }))];
const ofKind = (kind: string) => base.map((b) => b.doc).filter((d) => d.kind === kind);

/** The model class of `apiVersion`/`kind` in kubernetes-models (core `v1` has no group folder). */
async function validate(doc: Doc): Promise<void> {
  if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string')
    throw new Error('a manifest needs apiVersion and kind');
  let mod: Record<string, unknown>;
  try {
    mod = await import(/* @vite-ignore */ `kubernetes-models/${doc.apiVersion}/${doc.kind}`);
  } catch {
    throw new Error(`${doc.apiVersion} ${doc.kind} is not a Kubernetes resource kubernetes-models knows`);
  }
  const Model = mod[doc.kind] as new (data: Doc) => { validate(): void };
  new Model(doc).validate();
}

/** Each service's settings (the spec it reads at start-up), and the subgraphs' names. */
const subgraphList = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/subgraphs.json'), 'utf8')).subgraphs as Record<
  string,
  { binary?: string }
>;
const subgraphs = Object.keys(subgraphList);
/** The Rust subgraphs (search, video): no TypeScript spec; their settings are the README's rows. */
const rustSubgraphs = new Set(subgraphs.filter((name) => subgraphList[name]!.binary));
const specs: Record<string, ConfigSpec> = {
  gateway: gatewaySettings,
  identity: identitySettings,
  course: courseSettings,
  enrollment: enrollmentSettings,
  payment: paymentSettings,
  notification: notificationSettings,
  learning: learningSettings,
  ai: aiSettings,
  flags: flagsServiceSettings,
};

/** README configuration table rows: variable → default and who uses it (the Rust subgraphs have no TS spec). */
const readmeSettings = [
  ...fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').matchAll(/^\| `([A-Z0-9_<>]+)` \| (.*?) \| (.*?) \|/gm),
].map((m) => ({
  env: m[1],
  defaultValue: m[2].replace(/`/g, ''),
  usedBy: m[3],
}));
/** A Rust subgraph's settings: the README rows it is named in (or "every service"). */
const rustSettings = (service: string) =>
  new Set(readmeSettings.filter((r) => new RegExp(`\\b${service}\\b|^every service`).test(r.usedBy)).map((r) => r.env));
const scriptSettings = new Set(readmeSettings.filter((r) => /\bscripts\b/.test(r.usedBy)).map((r) => r.env));

function knownSettings(service: string): Set<string> {
  if (rustSubgraphs.has(service)) return rustSettings(service);
  if (service === 'migrate')
    return new Set([
      ...scriptSettings,
      ...['identity', 'course', 'enrollment', 'payment', 'notification', 'learning', 'video', 'ai', 'flags'].map(
        (c) => `${c.toUpperCase()}_DATABASE_URL`,
      ),
    ]);
  // Every TypeScript service also reads the event backbone's settings when it declares streams or relays.
  const known = new Set(
    [...Object.values(specs[service]), ...Object.values(streamRetentionSettings), ...Object.values(outboxSettings)].map(
      (s) => s.env,
    ),
  );
  if (service === 'gateway') for (const name of subgraphs) known.add(`SUBGRAPH_${name.toUpperCase()}_URL`);
  return known;
}

const configMaps = new Map(
  ofKind('ConfigMap').map((c) => [c.metadata.name as string, c.data as Record<string, string>]),
);
const secretTemplates = new Map(
  secrets.map((s) => [s.metadata.name as string, s.stringData as Record<string, string>]),
);

/** A workload's container environment: name → value (Secrets filled from the template). */
function containerEnv(container: Doc): Map<string, string> {
  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const data = configMaps.get(from.configMapRef?.name);
    if (!data)
      throw new Error(
        `envFrom names ConfigMap ${from.configMapRef?.name ?? JSON.stringify(from)}, which is not in the base`,
      );
    for (const [k, v] of Object.entries(data)) env.set(k, v);
  }
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    env.set(e.name, ref ? secretTemplates.get(ref.name)?.[ref.key] : e.value);
  }
  return env;
}

const workloads = [...ofKind('Deployment'), ...ofKind('StatefulSet'), ...ofKind('Job')];
const serviceOf = (w: Doc) => w.metadata.labels['app.kubernetes.io/name'] as string;

describe('Kubernetes manifests', () => {
  it('every document is valid against the Kubernetes schemas', async () => {
    expect(all.length).toBeGreaterThan(30);
    for (const { file, doc } of all) {
      await expect(
        validate(doc),
        `${path.relative(ROOT, file)}: ${doc.kind} ${doc.metadata?.name}`,
      ).resolves.toBeUndefined();
    }
  });

  it('refuses a broken manifest (the validation is real)', async () => {
    const deployment = structuredClone(ofKind('Deployment').find((d) => d.metadata.name === 'gateway')!);
    await validate(deployment);
    const badPort = structuredClone(deployment);
    badPort.spec.template.spec.containers[0].ports[0].containerPort = 'four thousand';
    await expect(validate(badPort)).rejects.toThrow(/containerPort must be integer/);
    const noSelector = structuredClone(deployment);
    delete noSelector.spec.selector;
    await expect(validate(noSelector)).rejects.toThrow(/selector/);
    const hpa = structuredClone(ofKind('HorizontalPodAutoscaler')[0]);
    hpa.spec.minReplicas = 'two';
    await expect(validate(hpa)).rejects.toThrow(/minReplicas/);
    await expect(validate({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } })).rejects.toThrow(
      /not a Kubernetes resource/,
    );
  });

  it('the kustomizations list files that exist, and name every image the workloads use', () => {
    for (const dir of [BASE, OVERLAY]) {
      const k = readDocs(path.join(dir, 'kustomization.yaml'))[0];
      for (const r of k.resources as string[])
        expect(fs.existsSync(path.join(dir, r)), `${path.relative(ROOT, dir)}: ${r}`).toBe(true);
    }
    const listed = (readDocs(path.join(BASE, 'kustomization.yaml'))[0].resources as string[])
      .map((r) => path.join(BASE, r))
      .sort();
    expect(listed).toEqual(yamlFiles(BASE).sort());
    const images = new Set((readDocs(path.join(BASE, 'kustomization.yaml'))[0].images as Doc[]).map((i) => i.name));
    const used = new Set(workloads.flatMap((w) => (w.spec.template.spec.containers as Doc[]).map((c) => c.image)));
    expect([...used].sort()).toEqual([...images].sort());
    expect(fs.readFileSync(path.join(ROOT, 'deploy/docker/node.Dockerfile'), 'utf8')).toMatch(/AS migrate/);
  });

  it('runs every service of the platform', () => {
    const services = new Set(workloads.map(serviceOf));
    for (const s of ['gateway', ...subgraphs, 'migrate']) expect(services, s).toContain(s);
  });

  it('probes each service on its real health paths and port, with a disruption budget, and an autoscaler per Deployment', () => {
    const ports = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/subgraphs.json'), 'utf8')).subgraphs as Record<
      string,
      { port: number }
    >;
    for (const w of [...ofKind('Deployment'), ...ofKind('StatefulSet')]) {
      const name = serviceOf(w);
      const [container] = w.spec.template.spec.containers as Doc[];
      const env = containerEnv(container);
      // The port the service listens on: its setting's value, or the code's default.
      const rust = rustSubgraphs.has(name);
      const portSetting = rust ? `${name.toUpperCase()}_PORT` : (specs[name].port.env as string);
      const codeDefault = rust
        ? Number(readmeSettings.find((r) => r.env === portSetting)!.defaultValue)
        : (specs[name].port.default as number);
      const port = Number(env.get(portSetting) ?? codeDefault);
      if (name !== 'gateway') expect(port, `${name}: schema/subgraphs.json's port`).toBe(ports[name].port);
      const named = (container.ports as Doc[]).find((p) => p.name === 'http');
      expect(named?.containerPort, `${name}: container port`).toBe(port);
      expect(container.livenessProbe?.httpGet, name).toMatchObject({ path: '/healthz', port: 'http' });
      expect(container.startupProbe?.httpGet, name).toMatchObject({ path: '/healthz', port: 'http' });
      expect(container.readinessProbe?.httpGet, name).toMatchObject({ path: '/readyz', port: 'http' });
      expect(
        container.resources?.requests?.cpu && container.resources?.limits?.memory,
        `${name}: resources`,
      ).toBeTruthy();
      // The kit drains for up to 10 s after a 5 s preStop; the grace period must cover both.
      expect(w.spec.template.spec.terminationGracePeriodSeconds, name).toBeGreaterThanOrEqual(20);

      const podLabels = w.spec.template.metadata.labels as Record<string, string>;
      const matches = (selector: Record<string, string>) =>
        Object.entries(selector).every(([k, v]) => podLabels[k] === v);
      const pdbs = ofKind('PodDisruptionBudget').filter((p) => matches(p.spec.selector.matchLabels));
      expect(pdbs.length, `${name}: one PodDisruptionBudget`).toBe(1);
      const services = ofKind('Service').filter((s) => matches(s.spec.selector) && !s.spec.clusterIP);
      expect(services.length, `${name}: one Service`).toBe(1);
      expect(services[0].spec.ports[0]).toMatchObject({ port, targetPort: 'http' });
      if (w.kind === 'Deployment') {
        const hpas = ofKind('HorizontalPodAutoscaler').filter(
          (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === w.metadata.name,
        );
        expect(hpas.length, `${name}: one HorizontalPodAutoscaler`).toBe(1);
        expect(hpas[0].spec.minReplicas, `${name}: at least two replicas`).toBeGreaterThanOrEqual(2);
        expect(hpas[0].spec.metrics[0].resource.name).toBe('cpu');
      }
    }
    // Search (a shared durable consumer) and video (uploads and media on a local volume) are
    // StatefulSets of one: no autoscaler may scale them.
    for (const name of ['search', 'video']) {
      expect(
        ofKind('HorizontalPodAutoscaler').some((h) => h.spec.scaleTargetRef.name === name),
        name,
      ).toBe(false);
      expect(ofKind('StatefulSet').find((s) => s.metadata.name === name)?.spec.replicas, name).toBe(1);
    }
  });

  it('sets only settings each service knows, from Secrets and ConfigMaps that hold the keys referenced', () => {
    for (const w of workloads) {
      const name = serviceOf(w);
      const known = knownSettings(name);
      for (const container of w.spec.template.spec.containers as Doc[]) {
        for (const e of container.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref)
            expect(
              secretTemplates.get(ref.name)?.[ref.key],
              `${name}: Secret ${ref.name} key ${ref.key} in the template`,
            ).toBeDefined();
        }
        for (const variable of containerEnv(container).keys())
          expect(known.has(variable), `${name} sets ${variable}, which it does not read`).toBe(true);
      }
    }
    // Every key of the templates is read by someone (no stale secrets).
    const referenced = new Set(
      workloads.flatMap((w) =>
        (w.spec.template.spec.containers as Doc[]).flatMap((c) =>
          (c.env ?? []).map(
            (e: Doc) => e.valueFrom?.secretKeyRef && `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`,
          ),
        ),
      ),
    );
    for (const [name, data] of secretTemplates)
      for (const key of Object.keys(data))
        expect(referenced.has(`${name}/${key}`), `${name}/${key} is used`).toBe(true);
  });

  it('passes the production profile with the manifests settings and the Secrets filled in', () => {
    for (const w of ofKind('Deployment')) {
      const name = serviceOf(w);
      const env = Object.fromEntries(containerEnv(w.spec.template.spec.containers[0]));
      expect(env.COURSEGRAPH_MODE).toBe('production');
      const { values, problems } = inspectConfig(specs[name], env);
      expect(problems, name).toEqual([]);
      if (name === 'payment') expect(() => checkPaymentConfig(values as PaymentConfig)).not.toThrow();
      if (name === 'ai') expect(() => checkAiConfig(values as AiConfig)).not.toThrow();
    }
    // CLOCK_HEADER lets callers choose "now": off wherever a service reads it, and no overlay patch
    // may turn it on behind the base's back.
    const clockReaders = ofKind('Deployment')
      .map(serviceOf)
      .filter((name) => Object.values(specs[name]).some((s) => s.env === 'CLOCK_HEADER'));
    expect(clockReaders.sort()).toEqual(['gateway', 'learning']);
    for (const name of clockReaders) {
      const w = ofKind('Deployment').find((d) => serviceOf(d) === name)!;
      const { values } = inspectConfig(
        specs[name],
        Object.fromEntries(containerEnv(w.spec.template.spec.containers[0])),
      );
      expect((values as { clockHeader?: boolean }).clockHeader, `${name}: CLOCK_HEADER`).toBe(false);
    }
    for (const patch of (readDocs(path.join(OVERLAY, 'kustomization.yaml'))[0].patches ?? []) as Doc[])
      expect(String(patch.patch ?? ''), 'an overlay patch sets CLOCK_HEADER').not.toMatch(/CLOCK_HEADER/);
    const rustEnv = (name: string) =>
      Object.fromEntries(
        containerEnv(ofKind('StatefulSet').find((s) => s.metadata.name === name)!.spec.template.spec.containers[0]),
      );
    for (const name of ['search', 'video']) {
      const env = rustEnv(name);
      expect(env.COURSEGRAPH_MODE, name).toBe('production');
      expect(new URL(env.NATS_URL).username, `${name} authenticates to NATS in production`).toBe(name);
    }
    // Video refuses its development signing secret in production: the Secret supplies its own.
    const video = rustEnv('video');
    expect(video.VIDEO_SIGNING_SECRET?.length, 'VIDEO_SIGNING_SECRET from the Secret').toBeGreaterThanOrEqual(32);
    expect(new URL(video.VIDEO_DATABASE_URL).username).toBe('cg_video');
    expect(new URL(video.VIDEO_PUBLIC_URL).protocol, 'playback and upload URLs over https').toBe('https:');
    // The model providers' keys are ai's alone: no other Secret holds them.
    const modelKeyHolders = [...secretTemplates]
      .filter(([, data]) => 'ANTHROPIC_API_KEY' in data || 'AI_EMBEDDING_API_KEY' in data)
      .map(([secret]) => secret);
    expect(modelKeyHolders).toEqual(['coursegraph-ai']);
  });
});

describe('Citus distribution plan', () => {
  const plan = JSON.parse(fs.readFileSync(DEFAULT_PLAN, 'utf8'));
  const tables = loadTables();

  it('holds for every table of the Prisma schemas, with the migrations it needs listed', () => {
    expect(tables.size).toBeGreaterThan(40);
    const { problems, pending } = checkDistribution(plan, tables);
    expect(problems).toEqual([]);
    // Every migration the plan lists is still needed (a stale one is a problem above).
    expect(pending.length).toBe(plan.requiredMigrations.length);
    expect(pending.map((p) => `${p.table}:${p.constraint}`)).toEqual(
      expect.arrayContaining([
        'payment.provider_attempts:provider_attempts_one_charge_per_order',
        'identity.users:users_email_key_key',
      ]),
    );
  });

  it('catches a plan that does not fit the schemas', () => {
    const broken = structuredClone(plan);
    delete broken.tables['enrollment.lesson_progress'];
    broken.tables['payment.orders'].column = 'customer_id';
    broken.tables['course.lessons'].colocate = 'user';
    broken.tables['notification.recipients'] = {
      kind: 'distributed',
      column: 'email',
      colocate: 'user',
      reason: 'a column of another type than the group',
    };
    broken.requiredMigrations = broken.requiredMigrations.filter((r: Doc) => r.constraint !== 'refunds_pkey');
    broken.requiredMigrations.push({
      table: 'payment.coupon_uses',
      constraint: 'coupon_uses_pkey',
      change: 'a change that is not needed',
    });
    const { problems } = checkDistribution(broken, tables);
    const expected = [
      /enrollment\.lesson_progress .* is not in the plan/,
      /payment\.orders: distribution column customer_id is not a column/,
      /course\.lessons: foreign key lessons_course_id_fkey \(course_id\) -> course\.courses \(id\) .* co-location group course, not user/,
      /payment\.refunds: primary key refunds_pkey \(id\) does not contain the distribution column user_id/,
      /notification\.recipients: email is text, but co-location group user is distributed on uuid/,
      /requiredMigrations lists payment\.coupon_uses coupon_uses_pkey, which no longer conflicts/,
    ];
    for (const e of expected)
      expect(
        problems.some((p) => e.test(p)),
        `${e}\n${problems.join('\n')}`,
      ).toBe(true);
  });

  it('reads the partial unique indexes the migrations create by hand', () => {
    const attempts = tables.get('payment.provider_attempts')!;
    expect(attempts.uniques.find((u: Doc) => u.name === 'provider_attempts_one_charge_per_order')?.columns).toEqual([
      'order_id',
    ]);
    // Dropped by a later migration: not a constraint any more.
    expect(tables.get('enrollment.certificates')!.uniques.map((u: Doc) => u.name)).not.toContain(
      'certificates_user_id_enrollment_id_key',
    );
  });
});
