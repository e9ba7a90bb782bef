import {
  commonSettings,
  ConfigError,
  databasePasswordProblem,
  flagsSettings,
  jwksSetting,
  parse,
  type ConfigOf,
} from '@coursegraph/service-kit';
import { tierSettings } from './domain/routing/tiers.js';

/** A positive amount of US dollars, e.g. 0.02. */
function usd(raw: string): number {
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !Number.isFinite(n) || n <= 0)
    throw new Error('expected a positive amount of US dollars, e.g. 0.02');
  return n;
}

/** AI's settings, read once at start-up (see README: Configuration). */
export const aiSettings = {
  ...commonSettings,
  ...jwksSetting,
  // The tutor's kill switch is the flag `tutor` (domain/tutoring.ts).
  ...flagsSettings,
  port: { env: 'AI_PORT', default: 4007, parse: parse.port, doc: 'HTTP port of the ai subgraph' },
  databaseUrl: {
    env: 'AI_DATABASE_URL',
    default: 'postgres://cg_ai:cg_ai_dev@127.0.0.1:5432/coursegraph',
    parse: parse.url,
    productionCheck: databasePasswordProblem,
    doc: "ai's own PostgreSQL role and database",
  },
  provider: {
    env: 'AI_PROVIDER',
    default: 'deterministic' as 'deterministic' | 'anthropic',
    parse: parse.oneOf<'deterministic' | 'anthropic'>('deterministic', 'anthropic'),
    doc: 'deterministic (embedded: extractive cards, definition questions, rule-based Socratic hints; no network) | anthropic (the Messages API, routed across the three tiers)',
  },
  anthropicApiKey: {
    env: 'ANTHROPIC_API_KEY',
    default: '',
    parse: parse.string,
    productionCheck: (key: string, config: Readonly<Record<string, unknown>>) =>
      config.provider === 'anthropic' && !key ? 'is required with AI_PROVIDER=anthropic' : undefined,
    doc: 'API key of the Messages API (required with AI_PROVIDER=anthropic)',
  },
  anthropicBaseUrl: {
    env: 'ANTHROPIC_BASE_URL',
    default: 'https://api.anthropic.com',
    parse: parse.url,
    doc: 'base URL of the Messages API (tests and benchmarks point it at a local server that speaks it)',
  },
  modelTimeoutMs: {
    env: 'AI_MODEL_TIMEOUT_MS',
    default: 30_000,
    parse: parse.positiveInt,
    doc: "one model call's deadline, retries included; past it the deterministic provider answers and says so",
  },
  maxRetryWaitMs: {
    env: 'AI_MAX_RETRY_WAIT_MS',
    default: 5_000,
    parse: parse.positiveInt,
    doc: 'longest retry-after of a 429 or 529 that is waited; a longer one falls back at once',
  },
  ...tierSettings,
  userDailyBudgetUsd: {
    env: 'AI_USER_DAILY_BUDGET_USD',
    // A heavy learner's day (a dozen tutor turns, most of them at the cheap tier): fifty times an
    // average day at the cost target of $0.03 a month, so only abuse or a runaway client meets it.
    default: 0.05,
    parse: usd,
    doc: "a user's model spending per UTC day; past it the deterministic provider answers and the reply says so",
  },
  globalDailyBudgetUsd: {
    env: 'AI_GLOBAL_DAILY_BUDGET_USD',
    default: 50,
    parse: usd,
    doc: "the platform's model spending on learners (the tutor) per UTC day; past it every learner gets the deterministic provider",
  },
  courseDailyBudgetUsd: {
    env: 'AI_COURSE_DAILY_BUDGET_USD',
    // Generating a lesson's cards and items at the cheap tier costs about a cent: a large course
    // republished in one day fits, a runaway loop of publications does not.
    default: 1,
    parse: usd,
    doc: "generated material's model spending per course and UTC day (its own budget, apart from learners'); past it the deterministic provider generates",
  },
  generationDailyBudgetUsd: {
    env: 'AI_GENERATION_DAILY_BUDGET_USD',
    default: 20,
    parse: usd,
    doc: "the platform's model spending on generated material per UTC day; past it the deterministic provider generates",
  },
  maxMessageChars: {
    env: 'AI_MAX_MESSAGE_CHARS',
    default: 2_000,
    parse: parse.positiveInt,
    doc: 'longest tutor message a learner may send (a longer one is refused before any model is called)',
  },
  generateOnPublish: {
    env: 'AI_GENERATE_ON_PUBLISH',
    default: true,
    parse: parse.boolean,
    doc: 'generate flashcards and quiz items for each lesson whose text a publication changed (for its instructor to review)',
  },
  generationScanMs: {
    env: 'AI_GENERATION_SCAN_MS',
    default: 5_000,
    parse: parse.positiveInt,
    doc: 'how often ai looks for published lessons whose text has not been generated from yet',
  },
  embedding: {
    env: 'AI_EMBEDDING',
    default: 'hashed' as 'hashed' | 'http',
    parse: parse.oneOf<'hashed' | 'http'>('hashed', 'http'),
    doc: 'hashed (embedded, deterministic feature hashing; no network) | http (an /v1/embeddings API such as Voyage AI, AI_EMBEDDING_URL)',
  },
  embeddingUrl: {
    env: 'AI_EMBEDDING_URL',
    default: 'https://api.voyageai.com/v1/embeddings',
    parse: parse.url,
    doc: 'the embeddings endpoint with AI_EMBEDDING=http',
  },
  embeddingModel: {
    env: 'AI_EMBEDDING_MODEL',
    default: 'voyage-3.5-lite',
    parse: parse.string,
    doc: 'the embedding model with AI_EMBEDDING=http',
  },
  embeddingDimensions: {
    env: 'AI_EMBEDDING_DIMENSIONS',
    default: 384,
    parse: parse.positiveInt,
    doc: "vectors' length (hashed: 16..4096; http: the model's)",
  },
  embeddingApiKey: {
    env: 'AI_EMBEDDING_API_KEY',
    default: '',
    parse: parse.string,
    productionCheck: (key: string, config: Readonly<Record<string, unknown>>) =>
      config.embedding === 'http' && !key ? 'is required with AI_EMBEDDING=http' : undefined,
    doc: 'API key of the embeddings endpoint (required with AI_EMBEDDING=http)',
  },
};

export type AiConfig = ConfigOf<typeof aiSettings>;

/** Checks that span settings (readConfig checks each alone; production lists these with every other problem). */
export function checkAiConfig(config: AiConfig): AiConfig {
  const problems: string[] = [];
  if (config.provider === 'anthropic' && !config.anthropicApiKey)
    problems.push('ANTHROPIC_API_KEY is required when AI_PROVIDER=anthropic');
  if (config.embedding === 'http' && !config.embeddingApiKey)
    problems.push('AI_EMBEDDING_API_KEY is required when AI_EMBEDDING=http');
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
