/** Hybrid retrieval over lesson text and captions (see hybrid.ts); what the rest of the ai context uses. */
export { chunkCaptions, chunkLesson, type CaptionSegment, type LessonCaptions, type LessonText } from './chunk.js';
export { passageId, type CoursePassage } from './passage.js';
export { createHashedEmbedding } from './hashed-embedding.js';
export { fromBytes, toBytes } from './vector-index.js';
export {
  createRetriever,
  type EmbeddedPassage,
  type Ranker,
  type RetrievalMode,
  type RetrievalQuery,
  type RetrievedPassage,
  type Retriever,
} from './hybrid.js';
export { recallAtK, type LabelledQuestion, type RetrievalQuality } from './evaluate.js';
