//! Highlighted snippets of a hit: its title, and the best fragment of its text.
//!
//! tantivy's `SnippetGenerator::create` only knows a query's exact terms, not the words a
//! fuzzy or prefix query expanded to, nor the surface forms of a stem. So the words to mark are
//! found per document instead: each word of the document's text is checked against the query
//! words the way the index matched them ([`QueryWord::matches`]), and the words that match
//! become the terms of a `SnippetGenerator` that picks the best fragment. Text is HTML-escaped;
//! matches are wrapped in `<b>`.

use std::collections::BTreeMap;
use std::ops::Range;

use tantivy::schema::Field;
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{TextAnalyzer, TokenStream};
use tantivy::{Index, Score};

use crate::schema::{analyzer, TextLanguage, EN_STEM, PLAIN, RU_STEM};
use crate::words::QueryWord;
use crate::SearchError;

/// Longest text fragment, in bytes of the source text (tantivy's unit).
pub const FRAGMENT_BYTES: usize = 200;

/// Marks a query's words in the texts of its hits.
pub(crate) struct Highlighter<'q> {
    words: &'q [QueryWord],
    plain: TextAnalyzer,
    en: TextAnalyzer,
    ru: TextAnalyzer,
}

/// A word of a text that matches the query.
struct Marked {
    word: String,
    range: Range<usize>,
}

impl<'q> Highlighter<'q> {
    pub(crate) fn new(index: &Index, words: &'q [QueryWord]) -> Result<Self, SearchError> {
        Ok(Self {
            words,
            plain: analyzer(index, PLAIN)?,
            en: analyzer(index, EN_STEM)?,
            ru: analyzer(index, RU_STEM)?,
        })
    }

    /// The whole title, escaped, with matching words in `<b>`.
    pub(crate) fn title(&mut self, title: &str, language: TextLanguage) -> String {
        let ranges: Vec<Range<usize>> = self
            .marked(title, language)
            .into_iter()
            .map(|m| m.range)
            .collect();
        render(title, &ranges)
    }

    /// The best fragment of `text` (at most [`FRAGMENT_BYTES`]), escaped, with matching words
    /// in `<b>`, and how many words are marked; `None` when no word of `text` matches.
    pub(crate) fn fragment(
        &mut self,
        field: Field,
        text: &str,
        language: TextLanguage,
    ) -> Option<(String, usize)> {
        let terms: BTreeMap<String, Score> = self
            .marked(text, language)
            .into_iter()
            .map(|m| (m.word, 1.0))
            .collect();
        if terms.is_empty() {
            return None;
        }
        let generator = SnippetGenerator::new(terms, self.plain.clone(), field, FRAGMENT_BYTES);
        let snippet = generator.snippet(text);
        (!snippet.is_empty()).then(|| (snippet.to_html(), snippet.highlighted().len()))
    }

    /// The words of `text` that match a query word.
    fn marked(&mut self, text: &str, language: TextLanguage) -> Vec<Marked> {
        let stems: Vec<(usize, String)> = match language {
            TextLanguage::English => offsets_and_words(&mut self.en, text),
            TextLanguage::Russian => offsets_and_words(&mut self.ru, text),
            TextLanguage::Other => Vec::new(),
        };
        let mut marked = Vec::new();
        let mut stream = self.plain.token_stream(text);
        let mut stem_index = 0;
        while let Some(token) = stream.next() {
            // Both analyzers split words alike; match them by offset to be safe.
            while stems
                .get(stem_index)
                .is_some_and(|(o, _)| *o < token.offset_from)
            {
                stem_index += 1;
            }
            let stem = stems
                .get(stem_index)
                .filter(|(o, _)| *o == token.offset_from)
                .map(|(_, s)| s.as_str());
            if self
                .words
                .iter()
                .any(|w| w.matches(&token.text, stem, language))
            {
                marked.push(Marked {
                    word: token.text.clone(),
                    range: token.offset_from..token.offset_to,
                });
            }
        }
        marked
    }
}

fn offsets_and_words(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push((token.offset_from, token.text.clone()));
    }
    out
}

/// `text` escaped for HTML, with the (sorted, disjoint) `ranges` wrapped in `<b>`.
fn render(text: &str, ranges: &[Range<usize>]) -> String {
    let mut html = String::with_capacity(text.len() + ranges.len() * 7);
    let mut at = 0;
    for range in ranges {
        let (Some(before), Some(word)) = (text.get(at..range.start), text.get(range.clone()))
        else {
            continue;
        };
        escape_into(&mut html, before);
        html.push_str("<b>");
        escape_into(&mut html, word);
        html.push_str("</b>");
        at = range.end;
    }
    escape_into(&mut html, text.get(at..).unwrap_or_default());
    html
}

fn escape_into(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#x27;"),
            c => html.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_escapes_and_marks() {
        assert_eq!(
            render("C++ <templates> & 'more'", std::slice::from_ref(&(5..14))),
            "C++ &lt;<b>templates</b>&gt; &amp; &#x27;more&#x27;"
        );
        assert_eq!(render("a b", &[]), "a b");
        // A range that does not fall on character boundaries is skipped, not a panic.
        assert_eq!(render("яб", std::slice::from_ref(&(1..2))), "яб");
    }
}
