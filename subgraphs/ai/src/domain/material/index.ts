/** Generated study material: what the ai subgraph wires in (see each module for the rules). */
export * from './candidate.js';
export { extractFlashcards, flashcardCandidates, quizItemCandidates, writeQuizItems } from './deterministic.js';
export { looksLikeInstruction } from './injection.js';
export { type ParsedMaterial, type ParseErrorCode, outputKey, parseMaterial } from './parse.js';
export { type MaterialPrompt, materialMaxTokens, materialPrompt } from './prompts.js';
export { fingerprint, MaterialIndex, NEAR_DUPLICATE_JACCARD, SUPPORT_THRESHOLD } from './rules.js';
export * from './to-learning.js';
export * from './validate.js';
