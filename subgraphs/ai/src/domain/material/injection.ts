/**
 * Sentences that read as instructions to a model rather than lesson content ("ignore previous
 * instructions", "you are now…"). Lesson text is written by instructors and captions by speech
 * recognition, so either may carry such a sentence, deliberately or not: the generator never turns one
 * into material and the validator rejects material that carries one.
 */

const INSTRUCTION_PATTERNS: RegExp[] = [
  // "Ignore all previous instructions", "disregard the rules above", "forget your guidelines".
  /\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules|guidelines|directions|directives|constraints)\b/i,
  /\byou are now\b/i,
  /\bfrom now on,? (?:you|the (?:assistant|model|ai))\b/i,
  /\b(?:pretend|role-?play|act as if)\b[^.!?\n]{0,30}\b(?:you|assistant|model|ai)\b/i,
  /\b(?:pretend to be|pretend you are)\b/i,
  /\bsystem prompt\b/i,
  /\b(?:new|updated|real|hidden|secret) instructions?\b/i,
  /\b(?:as an? (?:ai|language model|llm|assistant|chatbot))\b/i,
  /\b(?:jailbreak|developer mode|do anything now)\b/i,
  /\b(?:reveal|print|output|repeat|show|tell)\b[^.!?\n]{0,30}\b(?:the|your|all)\s+(?:answers?|answer key|solutions?|prompt|instructions)\b/i,
  // A line posing as a turn of the conversation, or a tag posing as the prompt's own delimiters.
  /(?:^|\n)\s*(?:system|assistant|user|human)\s*:/i,
  /<\/?\s*(?:system|passage|passages|instructions?|lesson|distractors)\b/i,
];

/** True when a text reads as an instruction to a model (see INSTRUCTION_PATTERNS). */
export function looksLikeInstruction(text: string): boolean {
  return INSTRUCTION_PATTERNS.some((pattern) => pattern.test(text));
}
