/**
 * The demo catalog, generated from a fixed seed so every machine gets the same courses. Course i
 * depends only on i (and the courses before it), so a smaller SEED_COURSES is a prefix of a larger one.
 */
import { createHash } from 'node:crypto';
import { seededRandom } from '@coursegraph/service-kit';
import type { CourseLevel, LessonKind } from './generated/prisma/client.js';
import { slugFromTitle } from './domain/validation.js';
import { DEMO_LESSON_TEXTS } from './demo-lesson-texts.js';

type Random = ReturnType<typeof seededRandom>;
const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const between = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));

const SUBJECTS: Record<string, { subjects: string[]; tags: string[] }> = {
  programming: {
    subjects: [
      'Python',
      'JavaScript',
      'TypeScript',
      'Go',
      'Rust',
      'Java',
      'Kotlin',
      'SQL',
      'React',
      'Node.js',
      'Docker',
      'Kubernetes',
      'Git',
      'GraphQL',
    ],
    tags: ['coding', 'software', 'web', 'backend', 'frontend', 'devops', 'algorithms'],
  },
  'data-science': {
    subjects: [
      'Pandas',
      'Machine Learning',
      'Statistics',
      'Data Visualization',
      'Deep Learning',
      'NumPy',
      'Time Series',
      'Experiment Design',
      'NLP',
    ],
    tags: ['data', 'analytics', 'python', 'ai', 'math'],
  },
  design: {
    subjects: ['UI Design', 'Figma', 'Typography', 'Color Theory', 'UX Research', 'Illustration', 'Design Systems'],
    tags: ['ux', 'ui', 'visual', 'creative'],
  },
  languages: {
    subjects: ['Spanish', 'German', 'French', 'Japanese', 'English Grammar', 'Italian', 'Russian', 'Mandarin'],
    tags: ['speaking', 'grammar', 'vocabulary', 'travel', 'exam prep'],
  },
  business: {
    subjects: [
      'Project Management',
      'Product Management',
      'Negotiation',
      'Startup Finance',
      'Leadership',
      'Excel',
      'Accounting',
    ],
    tags: ['career', 'management', 'finance', 'strategy'],
  },
  marketing: {
    subjects: ['SEO', 'Content Marketing', 'Email Marketing', 'Social Media', 'Copywriting', 'Brand Strategy'],
    tags: ['growth', 'digital', 'writing'],
  },
  'personal-development': {
    subjects: ['Productivity', 'Public Speaking', 'Time Management', 'Critical Thinking', 'Memory Techniques'],
    tags: ['habits', 'communication', 'focus'],
  },
  music: {
    subjects: ['Guitar', 'Piano', 'Music Theory', 'Music Production', 'Singing'],
    tags: ['instrument', 'theory', 'audio'],
  },
  photography: {
    subjects: ['Portrait Photography', 'Lightroom', 'Street Photography', 'Smartphone Photography'],
    tags: ['camera', 'editing', 'light'],
  },
  health: {
    subjects: ['Yoga', 'Nutrition', 'Strength Training', 'Mindfulness', 'Running'],
    tags: ['fitness', 'wellbeing', 'sport'],
  },
};
// Programming and data dominate a real catalog; weights by repetition.
const CATEGORY_WEIGHTS = [
  'programming',
  'programming',
  'programming',
  'data-science',
  'data-science',
  'design',
  'languages',
  'business',
  'marketing',
  'personal-development',
  'music',
  'photography',
  'health',
];

const PATTERNS: Record<string, string[]> = {
  en: [
    '{s} for Beginners',
    'Mastering {s}',
    '{s} in Practice',
    'Advanced {s}',
    '{s}: From Zero to Production',
    'Modern {s}',
    'The Complete {s} Course',
    '{s} Essentials',
    '{s} Deep Dive',
    'Hands-on {s}',
  ],
  ru: ['Основы: {s}', '{s} для начинающих', 'Практический курс: {s}', '{s}: продвинутый уровень'],
  es: ['{s} para principiantes', 'Curso completo de {s}', '{s} práctico'],
  de: ['{s} für Einsteiger', '{s} Meisterkurs', '{s} in der Praxis'],
};
const LANGUAGES = ['en', 'en', 'en', 'en', 'en', 'en', 'en', 'ru', 'ru', 'es', 'de'];
const LEVELS: CourseLevel[] = ['BEGINNER', 'BEGINNER', 'INTERMEDIATE', 'INTERMEDIATE', 'ADVANCED'];
const PRICES = [1900, 2900, 3900, 4900, 5900, 6900, 7900, 8900, 9900];
const MODULES = [
  'Getting Started',
  'Core Concepts',
  'Hands-on Practice',
  'Going Deeper',
  'Working with Real Data',
  'Best Practices',
  'Common Pitfalls',
  'Project',
  'Putting It Together',
  'Next Steps',
];
const LESSONS = [
  'Introduction',
  'Setting up',
  'Key ideas',
  'A worked example',
  'Common mistakes',
  'Exercise',
  'Under the hood',
  'Tips and tricks',
  'Summary',
];
const SENTENCES = [
  'In this lesson we build on what you already know and take one careful step further.',
  'Read the example slowly, then try to reproduce it on your own without looking.',
  'Most beginners stumble here, so we go through the reasoning one piece at a time.',
  'Keep notes as you go: you will need them in the project at the end of the module.',
  'The exercise at the end checks that the idea has really landed.',
  'We compare two approaches and discuss when each one is the better choice.',
];

export interface SeedLesson {
  title: string;
  kind: LessonKind;
  required: boolean;
  durationSeconds: number;
  body: string;
  freePreview: boolean;
}
export interface SeedModule {
  title: string;
  summary: string;
  lessons: SeedLesson[];
}
export interface SeedCourse {
  index: number;
  slug: string;
  title: string;
  summary: string;
  description: string;
  category: string;
  tags: string[];
  level: CourseLevel;
  language: string;
  priceMinor: number;
  currency: string;
  modules: SeedModule[];
  /** Indexes of earlier courses. */
  prerequisites: number[];
}

function lessonOf(random: Random, moduleTitle: string, n: number): SeedLesson {
  const roll = random();
  const kind: LessonKind = roll < 0.55 ? 'VIDEO' : roll < 0.85 ? 'ARTICLE' : 'QUIZ';
  const body = Array.from({ length: between(random, 2, 4) }, () => pick(random, SENTENCES)).join(' ');
  return {
    title: kind === 'QUIZ' ? `Quiz: ${moduleTitle}` : `${pick(random, LESSONS)} (${n})`,
    kind,
    required: kind !== 'QUIZ' || random() < 0.5,
    durationSeconds:
      kind === 'VIDEO' ? between(random, 3, 25) * 60 : kind === 'ARTICLE' ? between(random, 4, 12) * 60 : 300,
    body,
    freePreview: false,
  };
}

/** The first `count` demo courses. */
export function demoCourses(count: number): SeedCourse[] {
  const out: SeedCourse[] = [];
  const titles = new Set<string>();
  for (let i = 0; i < count; i++) {
    const random = seededRandom(1000 + i);
    const category = pick(random, CATEGORY_WEIGHTS);
    const { subjects, tags } = SUBJECTS[category]!;
    const subject = pick(random, subjects);
    const language = pick(random, LANGUAGES);
    let title = pick(random, PATTERNS[language]!).replace('{s}', subject);
    if (titles.has(title)) title = `${title} (${i + 1})`;
    titles.add(title);
    // English courses of a subject with written lessons teach them, in order, in their non-quiz lessons.
    const texts = language === 'en' ? DEMO_LESSON_TEXTS[subject] : undefined;
    let textsUsed = 0;
    const modules = Array.from({ length: between(random, 3, 6) }, (_, m) => {
      const moduleTitle = MODULES[(m + between(random, 0, 2)) % MODULES.length]!;
      return {
        title: moduleTitle,
        summary: `${moduleTitle} of ${subject}.`,
        lessons: Array.from({ length: between(random, 2, 6) }, (_, l) => {
          // lessonOf still draws the generic body, so every later field gets the same random numbers as before.
          const planned = lessonOf(random, moduleTitle, l + 1);
          return {
            ...planned,
            body: texts && planned.kind !== 'QUIZ' ? texts[textsUsed++ % texts.length]! : planned.body,
            // The opening lesson of every course is a free preview: what a paid course shows before purchase.
            freePreview: m === 0 && l === 0,
          };
        }),
      };
    });
    // About one course in five builds on one or two earlier courses of its category.
    const earlier = out.filter((c) => c.category === category).map((c) => c.index);
    const prerequisites =
      earlier.length > 0 && random() < 0.2
        ? [...new Set([pick(random, earlier), pick(random, earlier)])].slice(0, between(random, 1, 2))
        : [];
    out.push({
      index: i,
      slug: `${slugFromTitle(title)}-${String(i + 1).padStart(3, '0')}`,
      title,
      summary: `Learn ${subject} step by step, with exercises and a final project.`,
      description: `${title} takes you from the basics of ${subject} to confident everyday use. ${pick(random, SENTENCES)}`,
      category,
      tags: [...new Set([subject.toLowerCase(), pick(random, tags), pick(random, tags)])],
      level: pick(random, LEVELS),
      language,
      priceMinor: random() < 0.3 ? 0 : pick(random, PRICES),
      currency: 'USD',
      modules,
      prerequisites,
    });
  }
  return out;
}

/** Stand-in instructor ids when the orchestrator passes none: stable UUIDs derived from the demo emails. */
export function fallbackInstructorIds(count = 20): string[] {
  return Array.from({ length: count }, (_, i) => {
    const hex = createHash('sha256')
      .update(`coursegraph-demo:instructor${String(i + 1).padStart(2, '0')}@coursegraph.dev`)
      .digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  });
}
