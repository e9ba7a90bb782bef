// The search benchmark's corpus: courses with lessons, generated from a seeded generator, so every
// run (and both engines) sees the same text. Mostly English, about 15% Russian. Among the generated
// courses, `LABELLED` plants the courses and lessons that the relevance queries expect first, and
// decoys that share their words in weaker fields (lesson text, descriptions, a word of a title).

/** mulberry32: a small, fast, seeded PRNG (deterministic across runs and machines). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EN = {
  programming: {
    subjects: [
      'Python',
      'Rust',
      'JavaScript',
      'TypeScript',
      'Go',
      'Java',
      'Kotlin',
      'Swift',
      'Haskell',
      'Elixir',
      'C++',
      'Ruby',
    ],
    concepts: [
      'functions',
      'closures',
      'ownership',
      'borrowing',
      'generics',
      'concurrency',
      'async programming',
      'unit testing',
      'debugging',
      'refactoring',
      'type systems',
      'traits',
      'modules',
      'iterators',
      'recursion',
      'algorithms',
      'data structures',
      'memory management',
      'error handling',
      'web servers',
      'command line tools',
      'design patterns',
    ],
  },
  data: {
    subjects: [
      'SQL',
      'PostgreSQL',
      'pandas',
      'Spark',
      'statistics',
      'machine learning',
      'deep learning',
      'data engineering',
      'Excel',
      'Tableau',
    ],
    concepts: [
      'regression',
      'classification',
      'clustering',
      'neural networks',
      'feature engineering',
      'visualization',
      'time series',
      'query optimization',
      'indexes',
      'window functions',
      'data cleaning',
      'pipelines',
      'dashboards',
      'probability',
      'hypothesis testing',
      'forecasting',
    ],
  },
  devops: {
    subjects: [
      'Kubernetes',
      'Docker',
      'Terraform',
      'Ansible',
      'Linux',
      'AWS',
      'networking',
      'Prometheus',
      'Git',
      'Nginx',
    ],
    concepts: [
      'containers',
      'deployments',
      'monitoring',
      'observability',
      'continuous integration',
      'load balancing',
      'security',
      'scaling',
      'infrastructure as code',
      'logging',
      'backups',
      'service meshes',
      'shell scripting',
      'incident response',
    ],
  },
  design: {
    subjects: [
      'typography',
      'color theory',
      'Figma',
      'illustration',
      'branding',
      'user experience',
      'photography',
      'animation',
      'interior design',
      'web design',
    ],
    concepts: [
      'layout',
      'composition',
      'accessibility',
      'prototyping',
      'grids',
      'icons',
      'logos',
      'lighting',
      'storyboards',
      'user research',
      'wireframes',
      'portfolios',
    ],
  },
  business: {
    subjects: [
      'marketing',
      'accounting',
      'negotiation',
      'leadership',
      'startups',
      'personal finance',
      'sales',
      'product management',
      'project management',
      'public speaking',
    ],
    concepts: [
      'strategy',
      'budgets',
      'pricing',
      'hiring',
      'teams',
      'metrics',
      'storytelling',
      'fundraising',
      'customer interviews',
      'roadmaps',
      'presentations',
      'contracts',
    ],
  },
  music: {
    subjects: ['guitar', 'piano', 'music theory', 'singing', 'drums', 'music production', 'violin', 'songwriting'],
    concepts: [
      'chords',
      'scales',
      'rhythm',
      'harmony',
      'improvisation',
      'mixing',
      'ear training',
      'melody',
      'sight reading',
      'technique',
    ],
  },
};

const EN_TITLES = [
  (s) => `${s} for beginners`,
  (s, c) => `Mastering ${s}: ${c}`,
  (s, c) => `${s} ${c} in practice`,
  (s, c) => `Practical ${c} with ${s}`,
  (s) => `Introduction to ${s}`,
  (s, c, c2) => `Advanced ${s}: ${c} and ${c2}`,
  (s) => `The complete ${s} course`,
  (s, c) => `${c} explained with ${s}`,
];
const EN_SENTENCES = [
  (s, c) => `In this lesson we look at ${c} in ${s} and why it matters for real projects.`,
  (s, c, c2) => `You will practise ${c} step by step, then combine it with ${c2}.`,
  (s, c) => `Most teams meet ${c} early; we compare a few approaches and their trade-offs.`,
  (s, c) => `We build a small example that uses ${s} to show ${c} at work.`,
  (s, c) => `Common mistakes with ${c} are easy to avoid once you know what to look for.`,
  (s, c, c2) => `By the end you can explain ${c2} to a colleague and apply it in your own work.`,
  (s, c, c2) => `The exercises cover ${c}, ${c2} and a short quiz to check your understanding.`,
  (s, c) => `We review how ${s} handles ${c} compared with other tools.`,
  (s, c, c2) => `Read the notes, watch the demonstration, and try the assignment on ${c2}.`,
  (s, c) => `This part connects ${c} with what you learned about ${s} in the previous module.`,
];
const EN_MODULES = [
  'Getting started',
  'Foundations',
  'Core ideas',
  'Going further',
  'Projects',
  'Wrapping up',
  'Practice',
];

const RU = {
  programming: {
    subjects: ['Python', 'программирование', 'JavaScript', 'алгоритмы', 'разработка', 'Java'],
    concepts: [
      ['функции', 'функций', 'функциям'],
      ['рекурсия', 'рекурсии', 'рекурсией'],
      ['тестирование', 'тестирования', 'тестированию'],
      ['отладка', 'отладки', 'отладке'],
      ['структуры данных', 'структур данных', 'структурами данных'],
      ['многопоточность', 'многопоточности'],
      ['обработка ошибок', 'обработки ошибок'],
    ],
  },
  data: {
    subjects: ['машинное обучение', 'статистика', 'базы данных', 'анализ данных', 'нейронные сети'],
    concepts: [
      ['регрессия', 'регрессии', 'регрессией'],
      ['кластеризация', 'кластеризации'],
      ['визуализация', 'визуализации', 'визуализацией'],
      ['прогнозирование', 'прогнозирования'],
      ['индексы', 'индексов', 'индексами'],
      ['запросы', 'запросов', 'запросами'],
    ],
  },
  business: {
    subjects: ['маркетинг', 'бухгалтерия', 'управление проектами', 'переговоры', 'финансы'],
    concepts: [
      ['стратегия', 'стратегии', 'стратегией'],
      ['бюджет', 'бюджета', 'бюджетом'],
      ['продажи', 'продаж', 'продажами'],
      ['команда', 'команды', 'командой'],
      ['презентация', 'презентации', 'презентацией'],
    ],
  },
  music: {
    subjects: ['гитара', 'фортепиано', 'теория музыки', 'вокал'],
    concepts: [
      ['аккорды', 'аккордов', 'аккордами'],
      ['гаммы', 'гамм', 'гаммами'],
      ['ритм', 'ритма', 'ритмом'],
      ['гармония', 'гармонии', 'гармонией'],
      ['импровизация', 'импровизации'],
    ],
  },
};
const RU_TITLES = [
  (s) => `${cap(s)} для начинающих`,
  (s, c) => `${cap(s)}: ${c[0]} на практике`,
  (s) => `Основы: ${s}`,
  (s, c) => `Практический курс: ${c[0]}`,
  (s) => `${cap(s)} с нуля`,
];
const RU_SENTENCES = [
  (s, c) => `В этом уроке мы разберём ${c[0]} и посмотрим, зачем это нужно в реальных проектах.`,
  (s, c, c2) => `Вы научитесь шаг за шагом, а затем объедините это с темой ${c2[1] ?? c2[0]}.`,
  (s, c) => `Типичные ошибки ${c[1] ?? c[0]} легко избежать, если знать, на что смотреть.`,
  (s, c) => `Мы соберём небольшой пример, который показывает ${c[0]} в работе.`,
  (s, c) => `Упражнения посвящены теме ${c[1] ?? c[0]}, а в конце вас ждёт короткий тест.`,
  (s, c, c2) => `Этот раздел связывает ${c2[0]} с тем, что вы узнали в предыдущем модуле.`,
];
const RU_MODULES = ['Введение', 'Основы', 'Практика', 'Продвинутые темы', 'Итоги'];

const LEVELS = ['beginner', 'intermediate', 'advanced'];
const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const pick = (r, xs) => xs[Math.floor(r() * xs.length)];
const between = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1));

/**
 * The labelled set: each entry plants one course (or one lesson of a course) whose title and tags
 * carry distinctive words, and the queries that should find it first. `target: 'lesson'` means the
 * expected first hit is the planted lesson. Decoys put the same words into lesson texts and
 * descriptions of other courses, and one word into another course's title.
 */
export const LABELLED = [
  {
    key: 'sourdough',
    title: 'Sourdough bread baking science',
    tags: ['baking', 'fermentation'],
    category: 'cooking',
    words: ['sourdough', 'baking'],
    queries: ['sourdough baking', 'sourdugh baking', 'sourdough bak', 'fermentation sourdough'],
  },
  {
    key: 'bonsai',
    title: 'Bonsai pruning and wiring techniques',
    tags: ['gardening', 'trees'],
    category: 'gardening',
    words: ['bonsai', 'pruning'],
    queries: ['bonsai pruning', 'bonsia pruning', 'bonsai wiring techniques'],
  },
  {
    key: 'astro',
    title: 'Astrophotography with small telescopes',
    tags: ['photography', 'astronomy'],
    category: 'design',
    words: ['astrophotography', 'telescopes'],
    queries: ['astrophotography telescopes', 'astrophotografy', 'astrophoto'],
  },
  {
    key: 'hydro',
    title: 'Hydroponics for balcony gardens',
    tags: ['gardening', 'hydroponics'],
    category: 'gardening',
    words: ['hydroponics', 'balcony'],
    queries: ['hydroponics balcony', 'hydroponic gardens', 'hydroponcs balcony'],
  },
  {
    key: 'calli',
    title: 'Calligraphy: brush lettering',
    tags: ['lettering', 'calligraphy'],
    category: 'design',
    words: ['calligraphy', 'lettering'],
    queries: ['calligraphy lettering', 'brush lettering calligraphy', 'caligraphy'],
  },
  {
    key: 'bees',
    title: 'Beekeeping: hive management through the seasons',
    tags: ['beekeeping', 'hives'],
    category: 'gardening',
    words: ['beekeeping', 'hive'],
    queries: ['beekeeping hive management', 'beekeping', 'hive management beek'],
  },
  {
    key: 'falcon',
    title: 'Falconry training basics',
    tags: ['falconry', 'birds'],
    category: 'outdoors',
    words: ['falconry', 'training'],
    queries: ['falconry training', 'falconary training', 'falcon'],
  },
  {
    key: 'origami',
    title: 'Origami tessellation patterns',
    tags: ['origami', 'paper'],
    category: 'design',
    words: ['origami', 'tessellation'],
    queries: ['origami tessellation', 'tesselation origami', 'origami patterns'],
  },
  {
    key: 'kayak',
    title: 'Sea kayaking navigation and rescue',
    tags: ['kayaking', 'navigation'],
    category: 'outdoors',
    words: ['kayaking', 'navigation'],
    queries: ['sea kayaking', 'kayaking rescue', 'kayakin navigation'],
  },
  {
    key: 'glass',
    title: 'Glassblowing studio fundamentals',
    tags: ['glassblowing', 'crafts'],
    category: 'crafts',
    words: ['glassblowing', 'studio'],
    queries: ['glassblowing', 'glasblowing studio'],
  },
  {
    key: 'marzipan',
    target: 'lesson',
    title: 'Confectionery arts',
    lessonTitle: 'Tempering marzipan figures',
    tags: ['sweets'],
    category: 'cooking',
    words: ['marzipan', 'tempering'],
    queries: ['marzipan figures', 'tempering marzipan', 'marzipn figures'],
  },
  {
    key: 'crdt',
    target: 'lesson',
    title: 'Distributed systems in practice',
    lessonTitle: 'Conflict-free replicated data types (CRDTs)',
    tags: ['distributed systems'],
    category: 'programming',
    words: ['crdts', 'replicated'],
    queries: ['replicated data types', 'crdts', 'conflict free replicated'],
  },
  {
    key: 'zakvaska',
    language: 'ru',
    title: 'Выпечка хлеба на закваске',
    tags: ['выпечка', 'хлеб'],
    category: 'cooking',
    words: ['закваске', 'выпечка'],
    queries: ['выпечку хлеба', 'закваска', 'хлеб на заквске', 'выпечка хле'],
  },
  {
    key: 'pchely',
    language: 'ru',
    title: 'Основы пчеловодства',
    tags: ['пчеловодство', 'пасека'],
    category: 'gardening',
    words: ['пчеловодства', 'пасека'],
    queries: ['пчеловодство', 'основы пчеловодства', 'пчеловодсва'],
  },
  {
    key: 'kalligrafiya',
    language: 'ru',
    title: 'Каллиграфия широким пером',
    tags: ['каллиграфия', 'леттеринг'],
    category: 'design',
    words: ['каллиграфия', 'пером'],
    queries: ['каллиграфии', 'каллиграфия пером', 'калиграфия'],
  },
  { key: 'filter-bonsai', filterOf: 'bonsai', queries: [{ query: 'pruning', filter: { category: 'gardening' } }] },
  { key: 'filter-astro', filterOf: 'astro', queries: [{ query: 'telescopes', filter: { level: 'advanced' } }] },
];

/** Every labelled query: `{ query, filter, expect: { kind, id } }`. */
export function labelledQueries(planted) {
  const out = [];
  for (const entry of LABELLED) {
    const target = planted.get(entry.filterOf ?? entry.key);
    for (const q of entry.queries) {
      const { query, filter = {} } = typeof q === 'string' ? { query: q } : q;
      out.push({ query, filter, expect: target });
    }
  }
  return out;
}

/** The latency query set: typos, prefixes, facet filters, multi-word, English and Russian. */
export const LATENCY_QUERIES = [
  'python',
  'kubernetes',
  'machine learning',
  'statistics regression',
  'rust ownership borrowing',
  'docker containers',
  'typography layout',
  'marketing strategy',
  'guitar chords',
  'piano scales',
  'error handling',
  'unit testing',
  'neural networks',
  'postgresql indexes',
  'web design accessibility',
  'pyhton',
  'kuberntes',
  'mashine learning',
  'concurency',
  'obsevability',
  'typograpy',
  'negotation',
  'ku',
  'pyth',
  'machine lea',
  'data struc',
  'deploy',
  'obser',
  'improvis',
  'promet',
  'functions closures iterators',
  'continuous integration pipelines',
  'public speaking storytelling',
  'time series forecasting',
  'project management roadmaps',
  'машинное обучение',
  'обучения',
  'статистики',
  'программирование для начинающих',
  'аккорды гитара',
  'маркетинг стратегия',
  'прогнозирования',
  'машинное обу',
  'регресия',
  { query: 'python', filter: { level: 'beginner' } },
  { query: 'kubernetes', filter: { isFree: true } },
  { query: 'design', filter: { category: 'design', level: 'advanced' } },
  { query: 'data', filter: { language: 'ru' } },
  { query: 'learning', filter: { category: 'data', isFree: false } },
  { query: 'обучение', filter: { language: 'ru', level: 'intermediate' } },
  { query: 'testing', filter: { category: 'programming' } },
  { query: 'chords', filter: { category: 'music', isFree: true } },
].map((q) => (typeof q === 'string' ? { query: q, filter: {} } : q));

function englishCourse(r, id, category) {
  const { subjects, concepts } = EN[category];
  const s = pick(r, subjects);
  const c = pick(r, concepts);
  let c2 = pick(r, concepts);
  if (c2 === c) c2 = pick(r, concepts);
  const sentence = () => pick(r, EN_SENTENCES)(s, pick(r, concepts), pick(r, concepts));
  const lessons = [];
  const nLessons = between(r, 6, 12);
  for (let i = 0; i < nLessons; i++) {
    const lc = pick(r, concepts);
    lessons.push({
      id: `${id}-l${i + 1}`,
      module_title: EN_MODULES[Math.min(EN_MODULES.length - 1, Math.floor(i / 3))],
      title: `${cap(lc)}${r() < 0.5 ? ` in ${s}` : ': a closer look'}`,
      body: Array.from({ length: between(r, 5, 9) }, sentence).join(' '),
      // As in the demo, the opening lesson is a free preview: of a paid course, only its body is searchable.
      free_preview: i === 0,
    });
  }
  return {
    id,
    language: 'en',
    category,
    title: pick(r, EN_TITLES)(s, c, c2),
    summary: `Learn ${c} and ${c2} with ${s}.`,
    description: Array.from({ length: between(r, 2, 4) }, sentence).join(' '),
    tags: [s.toLowerCase(), c, c2].slice(0, between(r, 1, 3)),
    level: pick(r, LEVELS),
    price_minor: r() < 0.3 ? 0 : between(r, 9, 199) * 100,
    lessons,
  };
}

function russianCourse(r, id, category) {
  const { subjects, concepts } = RU[category];
  const s = pick(r, subjects);
  const c = pick(r, concepts);
  const sentence = () => pick(r, RU_SENTENCES)(s, pick(r, concepts), pick(r, concepts));
  const lessons = [];
  const nLessons = between(r, 6, 12);
  for (let i = 0; i < nLessons; i++) {
    const lc = pick(r, concepts);
    lessons.push({
      id: `${id}-l${i + 1}`,
      module_title: RU_MODULES[Math.min(RU_MODULES.length - 1, Math.floor(i / 3))],
      title: `${cap(pick(r, lc))}: ${r() < 0.5 ? 'разбор' : 'упражнения'}`,
      body: Array.from({ length: between(r, 5, 9) }, sentence).join(' '),
      // As in the demo, the opening lesson is a free preview: of a paid course, only its body is searchable.
      free_preview: i === 0,
    });
  }
  return {
    id,
    language: 'ru',
    category,
    title: pick(r, RU_TITLES)(s, c),
    summary: `Изучите ${c[0]} на практике.`,
    description: Array.from({ length: between(r, 2, 4) }, sentence).join(' '),
    tags: [s, c[0]],
    level: pick(r, LEVELS),
    price_minor: r() < 0.3 ? 0 : between(r, 9, 199) * 100,
    lessons,
  };
}

/**
 * Generates courses until they hold at least `minDocs` documents (courses + lessons). Returns
 * `{ courses, docs, planted }`, `planted` mapping each labelled key to the `{ kind, id }` its
 * queries expect first.
 */
export function generateCorpus({ minDocs = 100_000, seed = 20260101 } = {}) {
  const r = rng(seed);
  const courses = [];
  let docs = 0;
  const categoriesEn = Object.keys(EN);
  const categoriesRu = Object.keys(RU);
  while (docs < minDocs) {
    const id = `c${String(courses.length + 1).padStart(6, '0')}`;
    const course =
      r() < 0.15 ? russianCourse(r, id, pick(r, categoriesRu)) : englishCourse(r, id, pick(r, categoriesEn));
    courses.push(course);
    docs += 1 + course.lessons.length;
  }

  const planted = new Map();
  for (const entry of LABELLED.filter((e) => !e.filterOf)) {
    const ru = entry.language === 'ru';
    const id = `p-${entry.key}`;
    const filler = ru ? russianCourse(r, id, 'business') : englishCourse(r, id, 'business');
    const course = {
      ...filler,
      title: entry.title,
      tags: entry.tags,
      category: entry.category,
      level: entry.key === 'astro' ? 'advanced' : 'beginner',
      summary: ru ? `Курс: ${entry.title.toLowerCase()}.` : `A course on ${entry.title.toLowerCase()}.`,
    };
    if (entry.target === 'lesson') {
      course.lessons[0] = { ...course.lessons[0], title: entry.lessonTitle };
      planted.set(entry.key, { kind: 'lesson', id: course.lessons[0].id });
    } else {
      planted.set(entry.key, { kind: 'course', id });
    }
    courses.push(course);
    docs += 1 + course.lessons.length;

    // Decoys in weaker fields: the words in lesson texts (twice) and descriptions of other
    // courses, and the first word alone in another course's title with the second in its text.
    const phrase = entry.words.join(' ');
    for (let d = 0; d < 6; d++) {
      const victim = courses[Math.floor(r() * (courses.length - 1))];
      const lesson = pick(r, victim.lessons);
      lesson.body += ru
        ? ` Отдельно: ${phrase}, и ещё раз ${phrase}.`
        : ` A side note on ${phrase}, and more on ${phrase}.`;
    }
    for (let d = 0; d < 2; d++) {
      const victim = courses[Math.floor(r() * (courses.length - 1))];
      victim.description += ru ? ` Упоминается ${phrase}.` : ` It also touches on ${phrase}.`;
    }
    const rival = courses[Math.floor(r() * (courses.length - 1))];
    if (!rival.id.startsWith('p-')) {
      rival.title = `${rival.title} (${entry.words[0]})`;
      rival.description += ` ${entry.words[1]}.`;
    }
  }
  return { courses, docs, planted };
}
