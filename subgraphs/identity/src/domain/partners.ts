/**
 * The partner registry: companies that run only the persisted documents of their registered
 * manifests, with API keys identity issues (shown once, stored as a SHA-256) and revokes. A
 * manifest is judged whole against the supergraph before anything is written; every change is
 * announced as `identity.partner.changed` through the outbox, so gateways drop what they cached.
 * The gateway asks `access(keyHash)` (app.ts's signed internal route) which partner a key is.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { GraphQLSchema } from 'graphql';
import { IdentityEvents } from '@coursegraph/contracts';
import {
  ErrorCode,
  ManifestError,
  appError,
  badInput,
  checkDocument,
  conflict,
  enqueueEvent,
  isUniqueViolation,
  isUuid,
  newId,
  notFound,
  parseManifest,
  type CheckDocumentOptions,
  type CostTable,
  type SqlExecutor,
  type Viewer,
} from '@coursegraph/service-kit';
import type { Partner, PartnerApiKey, PartnerManifest, PrismaClient } from '../generated/prisma/client.js';
import { IDENTITY_CONTEXT } from './events.js';

export const API_KEY_PREFIX = 'cgp_';
/** Characters of a key kept in clear, to tell keys apart in lists. */
export const API_KEY_PREFIX_LENGTH = 12;
export const PARTNER_NAME_MIN = 2;
export const PARTNER_NAME_MAX = 80;
/** Upper bounds of a partner's limits: generous, but a typo cannot switch them off. */
export const MAX_RATE_LIMIT_PER_MINUTE = 100_000;
export const MAX_COST_BUDGET_PER_MINUTE = 100_000_000;

export type PartnerChange = 'KEY_ISSUED' | 'KEY_REVOKED' | 'MANIFEST_REGISTERED' | 'PARTNER_CREATED';

/** A registration as the mutation answers it: the row and the ids of every document it held, in order. */
export type RegisteredManifest = PartnerManifest & { documentIds: string[] };

/** One problem of a refused manifest, as `extensions.problems` lists it. */
export interface ManifestProblem {
  documentId: string | null;
  operationName: string | null;
  message: string;
}

/** What the gateway needs to serve a key: its partner, its limits and the documents it may run. */
export interface PartnerAccess {
  partner: { id: string; name: string; rateLimitPerMinute: number; costBudgetPerMinute: number };
  keyId: string;
  documents: Record<string, { operationName: string; operationType: string; document: string; cost: number }>;
}

/** Hex SHA-256 of a whole API key: what is stored and what the gateway looks keys up by. */
export const apiKeyHash = (key: string) => createHash('sha256').update(key).digest('hex');

export function partnerChanged(
  tx: SqlExecutor,
  partnerId: string,
  change: PartnerChange,
  changedAt: Date,
  traceparent?: string,
): Promise<string> {
  return enqueueEvent(
    tx,
    IDENTITY_CONTEXT,
    IdentityEvents.partnerChanged,
    { partnerId, change, changedAt: changedAt.toISOString() },
    { traceparent },
  );
}

export interface PartnersDeps {
  db: PrismaClient;
  /** The supergraph's API schema and cost table, as the gateway judges operations. */
  apiSchema: GraphQLSchema;
  costTable: CostTable;
  /** The limits a partner's operation is held to: those of an anonymous caller, which partners are on the graph. */
  documentLimits: CheckDocumentOptions;
  defaults: { rateLimitPerMinute: number; costBudgetPerMinute: number };
}

function limitOf(value: number | null | undefined, fallback: number, max: number, field: string): number {
  if (value == null) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw badInput(`"${field}" is a whole number from 1 to ${max}.`, `input.${field}`);
  return value;
}

const partnerId = (id: string) => {
  if (!isUuid(id)) throw badInput('"partnerId" is not a partner id.', 'partnerId');
  return id;
};

export class Partners {
  constructor(private readonly deps: PartnersDeps) {}

  list(): Promise<Partner[]> {
    return this.deps.db.partner.findMany({ orderBy: { name: 'asc' } });
  }

  get(id: string): Promise<Partner | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.deps.db.partner.findUnique({ where: { id } });
  }

  keysOf(id: string): Promise<PartnerApiKey[]> {
    return this.deps.db.partnerApiKey.findMany({
      where: { partnerId: id },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
    });
  }

  documentsOf(id: string) {
    return this.deps.db.persistedDocument.findMany({
      where: { partnerId: id },
      orderBy: [{ registeredAt: 'desc' }, { documentId: 'asc' }],
    });
  }

  /** The documents of one registration, in the manifest's order. */
  async documentsOfManifest(manifest: RegisteredManifest) {
    const rows = await this.deps.db.persistedDocument.findMany({
      where: { partnerId: manifest.partnerId, documentId: { in: manifest.documentIds } },
    });
    const byId = new Map(rows.map((row) => [row.documentId, row]));
    return manifest.documentIds.flatMap((id) => byId.get(id) ?? []);
  }

  async create(
    admin: Viewer,
    input: { name: string; rateLimitPerMinute?: number | null; costBudgetPerMinute?: number | null },
    traceparent?: string,
  ): Promise<Partner> {
    const name = input.name.trim();
    if (name.length < PARTNER_NAME_MIN || name.length > PARTNER_NAME_MAX)
      throw badInput(`A partner's name is ${PARTNER_NAME_MIN} to ${PARTNER_NAME_MAX} characters.`, 'input.name');
    const { defaults } = this.deps;
    const data = {
      id: newId(),
      name,
      rateLimitPerMinute: limitOf(
        input.rateLimitPerMinute,
        defaults.rateLimitPerMinute,
        MAX_RATE_LIMIT_PER_MINUTE,
        'rateLimitPerMinute',
      ),
      costBudgetPerMinute: limitOf(
        input.costBudgetPerMinute,
        defaults.costBudgetPerMinute,
        MAX_COST_BUDGET_PER_MINUTE,
        'costBudgetPerMinute',
      ),
      createdBy: admin.userId,
    };
    try {
      return await this.deps.db.$transaction(async (tx) => {
        const partner = await tx.partner.create({ data });
        await partnerChanged(tx, partner.id, 'PARTNER_CREATED', partner.createdAt, traceparent);
        return partner;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`A partner named "${name}" already exists.`, 'input.name');
      throw err;
    }
  }

  /** A new key for the partner: the key itself is in this answer only. */
  async issueKey(admin: Viewer, id: string, traceparent?: string): Promise<{ key: string; apiKey: PartnerApiKey }> {
    await this.requirePartner(partnerId(id));
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const apiKey = await this.deps.db.$transaction(async (tx) => {
      const row = await tx.partnerApiKey.create({
        data: {
          id: newId(),
          partnerId: id,
          prefix: key.slice(0, API_KEY_PREFIX_LENGTH),
          keyHash: apiKeyHash(key),
          createdBy: admin.userId,
        },
      });
      await partnerChanged(tx, id, 'KEY_ISSUED', row.createdAt, traceparent);
      return row;
    });
    return { key, apiKey };
  }

  /** Revokes a key; revoking it again changes nothing (and announces nothing). */
  async revokeKey(keyId: string, traceparent?: string): Promise<PartnerApiKey> {
    if (!isUuid(keyId)) throw badInput('"keyId" is not a key id.', 'keyId');
    return this.deps.db.$transaction(async (tx) => {
      const now = new Date();
      const { count } = await tx.partnerApiKey.updateMany({
        where: { id: keyId, revokedAt: null },
        data: { revokedAt: now },
      });
      const key = await tx.partnerApiKey.findUnique({ where: { id: keyId } });
      if (!key) throw notFound('No such partner API key.');
      if (count === 1) await partnerChanged(tx, key.partnerId, 'KEY_REVOKED', now, traceparent);
      return key;
    });
  }

  /**
   * Registers a manifest after judging every document; one problem refuses it whole (BAD_USER_INPUT
   * with every problem in `extensions.problems`) and writes nothing. Documents the partner already
   * has are kept as they were registered.
   */
  async registerManifest(admin: Viewer, id: string, text: string, traceparent?: string): Promise<RegisteredManifest> {
    await this.requirePartner(partnerId(id));
    const { entries, problems } = this.judge(text);
    if (problems.length > 0)
      throw appError(
        ErrorCode.BAD_USER_INPUT,
        `manifest refused: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}`,
        { field: 'manifest', problems },
      );
    const manifest = await this.deps.db.$transaction(async (tx) => {
      const row = await tx.partnerManifest.create({
        data: { id: newId(), partnerId: id, documentCount: entries.length, registeredBy: admin.userId },
      });
      await tx.persistedDocument.createMany({
        data: entries.map((entry) => ({ ...entry, partnerId: id, manifestId: row.id, registeredAt: row.registeredAt })),
        skipDuplicates: true,
      });
      await partnerChanged(tx, id, 'MANIFEST_REGISTERED', row.registeredAt, traceparent);
      return row;
    });
    return { ...manifest, documentIds: entries.map((entry) => entry.documentId) };
  }

  /** The key's partner and documents, or null for an unknown or revoked key. */
  async access(keyHash: string): Promise<PartnerAccess | null> {
    const key = await this.deps.db.partnerApiKey.findUnique({
      where: { keyHash },
      // Oldest first: where a name was registered again, the newest document is the one its REST route runs.
      include: { partner: { include: { documents: { orderBy: [{ registeredAt: 'asc' }, { documentId: 'asc' }] } } } },
    });
    if (!key || key.revokedAt) return null;
    const { partner } = key;
    return {
      partner: {
        id: partner.id,
        name: partner.name,
        rateLimitPerMinute: partner.rateLimitPerMinute,
        costBudgetPerMinute: partner.costBudgetPerMinute,
      },
      keyId: key.id,
      documents: Object.fromEntries(
        partner.documents.map((d) => [
          d.documentId,
          { operationName: d.operationName, operationType: d.operationType, document: d.document, cost: d.cost },
        ]),
      ),
    };
  }

  private async requirePartner(id: string): Promise<void> {
    if (!(await this.deps.db.partner.findUnique({ where: { id }, select: { id: true } })))
      throw notFound('No such partner.');
  }

  /** Every document of the manifest judged against the supergraph; every problem found. */
  private judge(text: string) {
    let parsed: [string, string][];
    try {
      parsed = parseManifest(text).entries;
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      return {
        entries: [],
        problems: err.problems.map((message): ManifestProblem => ({ documentId: null, operationName: null, message })),
      };
    }
    const problems: ManifestProblem[] = [];
    const entries: {
      documentId: string;
      operationName: string;
      operationType: string;
      document: string;
      cost: number;
    }[] = [];
    const firstByName = new Map<string, string>();
    for (const [documentId, document] of parsed) {
      const result = checkDocument(
        this.deps.apiSchema,
        this.deps.costTable,
        documentId,
        document,
        this.deps.documentLimits,
      );
      if (!result.ok) {
        for (const message of result.problems)
          problems.push({ documentId, operationName: result.operationName, message });
        continue;
      }
      // A partner's operations are also named endpoints (GET /partners/v1/<name>): one document per name in a manifest.
      const other = firstByName.get(result.operationName);
      if (other)
        problems.push({
          documentId,
          operationName: result.operationName,
          message: `the operation name ${result.operationName} is also used by document ${other}`,
        });
      else firstByName.set(result.operationName, documentId);
      entries.push({
        documentId,
        document,
        operationName: result.operationName,
        operationType: result.operationType,
        cost: result.cost,
      });
    }
    return { entries, problems };
  }
}
