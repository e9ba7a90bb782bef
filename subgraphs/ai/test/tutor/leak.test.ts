import { describe, expect, it } from 'vitest';
import { blankAnswers, findAnswerLeaks, guardReply } from '../../src/domain/tutor/leak.js';

const leaks: [string, string[], string][] = [
  ['Berlin.', ['Berlin'], 'the bare answer'],
  ['Fine, it is Berlin. Happy now?', ['Berlin'], 'in a sentence'],
  ['the answer is BERLIN!!!', ['Berlin'], 'shouted'],
  ['Bérlin, of course', ['Berlin'], 'with an accent'],
  ["Berlin's the one", ['Berlin'], 'possessive'],
  ['the answer starts with B-e-r-l-i-n', ['Berlin'], 'spelled with hyphens'],
  ['B E R L I N', ['Berlin'], 'spelled with spaces'],
  ['B. e. r. l. i. n.', ['Berlin'], 'spelled with dots'],
  ['Read this backwards: nilreB', ['Berlin'], 'reversed'],
  ['n-i-l-r-e-b', ['Berlin'], 'spelled backwards'],
  [`Decode: ${Buffer.from('The answer is Berlin').toString('base64')}`, ['Berlin'], 'base64'],
  ['It is four.', ['4'], 'a digit answer written as a word'],
  ['The median is 4', ['four'], 'a word answer written as digits'],
  ['twenty-one', ['21'], 'a compound number word'],
  ['twenty one, count them', ['21'], 'a compound number word with a space'],
  ['Think about cell membranes.', ['cell membrane'], 'a multi-word answer inflected'],
  ['Send an email', ['e-mail'], 'a hyphenated answer written together'],
  ['they live in the mitochondria', ['The mitochondria'], 'without the leading article'],
  ['The right option is (b).', ['b'], 'an option letter in parentheses'],
  ['Option B is the one', ['b'], 'an option letter after "option"'],
  ['I would choose A here.', ['a'], 'a capital label mid-sentence'],
  ['The answer is a.', ['a'], 'the letter a standing alone'],
  ['Is it one? Yes.', ['1'], '"one" standing alone'],
  ['It happened in 1440', ['1440'], 'a year'],
  ['It has atomic number 2', ['2', 'helium'], 'a digit among other answers'],
  ['A perfect fifth spans seven semitones.', ['7'], 'a number word before a noun'],
  ['A perfect fifth spans 7 semitones.', ['seven'], 'digits for a number word answer'],
];

const innocent: [string, string[], string][] = [
  ["Let's take one step at a time.", ['1'], '"one" as a determiner'],
  ['What is a function?', ['a'], 'the article'],
  ['A closure is a function.', ['a'], 'the article at the start of a sentence'],
  ['I think you are close.', ['i'], 'the pronoun'],
  ['Start with what you know.', ['art'], 'inside a longer word'],
  ['Bob wrote it down.', ['b'], 'a letter inside a name'],
  ['42 is not the point.', ['4'], 'a digit inside a number'],
  ['Read the Berliner Zeitung article.', ['Berlin'], 'a longer word that begins with the answer'],
  ['There is no shortcut here.', ['no'], 'a stop word before a noun'],
  ['It starts with “b”, what comes next?', ['Berlin'], 'a first letter is a hint, not the answer'],
  ['What does the sentence tell you about the capital?', ['Berlin', '4'], 'a plain Socratic question'],
  ['understanding', ['Berlin'], 'a word that looks like base64'],
];

describe('findAnswerLeaks', () => {
  it.each(leaks)('finds %j among %j (%s)', (reply, answers) => {
    expect(findAnswerLeaks(reply, answers)).not.toEqual([]);
  });

  it.each(innocent)('does not flag %j for %j (%s)', (reply, answers) => {
    expect(findAnswerLeaks(reply, answers)).toEqual([]);
  });

  it('returns each leaked answer once, in the order given', () => {
    expect(findAnswerLeaks('Berlin, 4, four and Berlin again', ['4', 'Vienna', 'Berlin'])).toEqual(['4', 'Berlin']);
  });

  it('ignores empty and punctuation-only answers', () => {
    expect(findAnswerLeaks('Anything at all.', ['', '  ', '?!'])).toEqual([]);
    expect(findAnswerLeaks('', ['Berlin'])).toEqual([]);
  });
});

describe('guardReply', () => {
  it('passes a reply that states no protected answer and names the leaks of one that does', () => {
    expect(guardReply('What does the lesson say about capitals?', ['Berlin'])).toEqual({ ok: true, leaks: [] });
    expect(guardReply('Okay, just this once: Berlin.', ['Berlin', 'Vienna'])).toEqual({ ok: false, leaks: ['Berlin'] });
  });
});

describe('blankAnswers', () => {
  it('replaces every statement of an answer and leaves the rest as written', () => {
    expect(blankAnswers('Berlin is the capital of Germany. The Spree runs through Berlin.', ['berlin'])).toBe(
      '____ is the capital of Germany. The Spree runs through ____.',
    );
    expect(blankAnswers('Helium has atomic number two and is a noble gas.', ['2', 'helium'], '[hidden]')).toBe(
      '[hidden] has atomic number [hidden] and is a noble gas.',
    );
  });
});
