/** The assessment domain: question items, learner views, grading, quiz draws, policies and statistics. */
export * from './item-content.js';
export * from './learner-view.js';
export * from './item-response.js';
export * from './grading.js';
export * from './correct-answer-view.js';
export * from './text-normalise.js';
export * from './seeded-random.js';
export * from './view-ids.js';
export * from './quiz-draw.js';
export * from './grading-policy.js';
export * from './item-statistics.js';
export * from './protected-answers.js';
