//! A query's words: how each may match (exactly, stemmed, with typos, as a prefix).

use tantivy::tokenizer::{TextAnalyzer, TokenStream};
use tantivy::Index;

use crate::schema::{analyzer, TextLanguage, EN_STEM, PLAIN, RU_STEM};
use crate::{SearchError, MAX_QUERY_WORDS};

/// Words shorter than this (in characters) must be typed exactly.
pub const MIN_CHARS_ONE_TYPO: usize = 5;
/// Words at least this long (in characters) may have two typos.
pub const MIN_CHARS_TWO_TYPOS: usize = 9;
/// The last word of a query is also matched as a prefix (search-as-you-type) from this many
/// characters on; a single letter would match a large part of the dictionary.
pub const MIN_PREFIX_CHARS: usize = 2;

/// One distinct word of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryWord {
    /// Lowercased, as typed.
    pub raw: String,
    /// Its English stem.
    pub en: Option<String>,
    /// Its Russian stem.
    pub ru: Option<String>,
    /// Edit distance allowed (transposition counts as one edit).
    pub distance: u8,
    /// Whether it is the last word and matched as a prefix too.
    pub prefix: bool,
}

/// Typos allowed in a word: none below 5 characters, one from 5, two from 9.
pub(crate) fn typo_distance(word: &str) -> u8 {
    match word.chars().count() {
        n if n >= MIN_CHARS_TWO_TYPOS => 2,
        n if n >= MIN_CHARS_ONE_TYPO => 1,
        _ => 0,
    }
}

/// Splits a query into distinct words with the index's own analyzers: words are runs of
/// letters and digits, everything else (`:`, `"`, `(`, `*`, ...) only separates them.
///
/// # Errors
/// [`SearchError::EmptyQuery`] when there is no word; [`SearchError::TooManyWords`] past
/// [`MAX_QUERY_WORDS`].
pub(crate) fn analyze(index: &Index, query: &str) -> Result<Vec<QueryWord>, SearchError> {
    let mut plain = analyzer(index, PLAIN)?;
    let mut en = analyzer(index, EN_STEM)?;
    let mut ru = analyzer(index, RU_STEM)?;

    let typed = tokens(&mut plain, query);
    let Some(last) = typed.last().cloned() else {
        return Err(SearchError::EmptyQuery);
    };
    let mut distinct: Vec<String> = Vec::new();
    for token in typed {
        if !distinct.contains(&token) {
            distinct.push(token);
        }
    }
    if distinct.len() > MAX_QUERY_WORDS {
        return Err(SearchError::TooManyWords {
            count: distinct.len(),
            max: MAX_QUERY_WORDS,
        });
    }
    Ok(distinct
        .into_iter()
        .map(|raw| QueryWord {
            en: tokens(&mut en, &raw).into_iter().next(),
            ru: tokens(&mut ru, &raw).into_iter().next(),
            distance: typo_distance(&raw),
            prefix: raw == last && raw.chars().count() >= MIN_PREFIX_CHARS,
            raw,
        })
        .collect())
}

fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

impl QueryWord {
    /// Whether a word of a document matches this query word, the way the index matches it:
    /// `raw` is the document word lowercased, `stem` its stem in the document's `language`.
    pub(crate) fn matches(&self, raw: &str, stem: Option<&str>, language: TextLanguage) -> bool {
        if raw == self.raw {
            return true;
        }
        let query_stem = match language {
            TextLanguage::English => self.en.as_deref(),
            TextLanguage::Russian => self.ru.as_deref(),
            TextLanguage::Other => None,
        };
        if query_stem.is_some() && stem == query_stem {
            return true;
        }
        (self.prefix && raw.starts_with(&self.raw))
            || (self.distance > 0 && within_distance(raw, &self.raw, self.distance))
    }
}

/// Whether `a` and `b` are at most `max` edits apart, counting insertions, deletions,
/// substitutions and transpositions of adjacent characters (optimal string alignment), as
/// tantivy's fuzzy query does with `transposition_cost_one`.
pub(crate) fn within_distance(a: &str, b: &str, max: u8) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let max = usize::from(max);
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    // Three rows of the DP table: two back (transpositions), previous, current.
    let width = b.len() + 1;
    let mut before: Vec<usize> = vec![0; width];
    let mut previous: Vec<usize> = (0..width).collect();
    let mut current: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..width {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[width - 1] <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_budget_grows_with_word_length_in_characters() {
        assert_eq!(typo_distance("rust"), 0);
        assert_eq!(typo_distance("swift"), 1);
        assert_eq!(typo_distance("kotlinxx"), 1);
        assert_eq!(typo_distance("kubernetes"), 2);
        assert_eq!(typo_distance("база"), 0);
        // 6 letters, 12 bytes: one typo, not two.
        assert_eq!(typo_distance("данные"), 1);
    }

    #[test]
    fn edit_distance_counts_transpositions_as_one() {
        assert!(within_distance("python", "pyhton", 1));
        assert!(within_distance("python", "pythn", 1));
        assert!(!within_distance("python", "pyhtan", 1));
        assert!(within_distance("kubernetes", "kubrenetis", 2));
        assert!(!within_distance("kubernetes", "kbrenetis", 2));
        assert!(within_distance("данные", "даные", 1));
        assert!(within_distance("", "ab", 2));
        assert!(!within_distance("", "abc", 2));
    }
}
