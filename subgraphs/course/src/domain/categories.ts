/**
 * The catalog's categories: a fixed list in code, because adding one is a product decision that
 * ships with a release, and a course stores the category slug.
 */
export interface CategoryRef {
  slug: string;
  name: string;
}

export const CATEGORIES: readonly CategoryRef[] = [
  { slug: 'programming', name: 'Programming' },
  { slug: 'data-science', name: 'Data Science' },
  { slug: 'design', name: 'Design' },
  { slug: 'languages', name: 'Languages' },
  { slug: 'business', name: 'Business' },
  { slug: 'marketing', name: 'Marketing' },
  { slug: 'personal-development', name: 'Personal Development' },
  { slug: 'music', name: 'Music' },
  { slug: 'photography', name: 'Photography' },
  { slug: 'health', name: 'Health & Fitness' },
];

const BY_SLUG = new Map(CATEGORIES.map((c) => [c.slug, c]));

export const categoryBySlug = (slug: string): CategoryRef | undefined => BY_SLUG.get(slug);

/** A stored slug always resolves; an unknown one (a category later removed) still shows. */
export const categoryRef = (slug: string): CategoryRef => BY_SLUG.get(slug) ?? { slug, name: slug };
