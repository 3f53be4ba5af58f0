//! Catalogue search as people type it: Chinese without spaces (segmented by jieba's general
//! dictionary plus the catalogue's own words), two-character words (社保, 医保), everyday words mapped to official
//! names through the synonym table (开饭店 → 食品经营许可), and pinyin initials (gtgsh).
//!
//! The index lives in memory on each node and is rebuilt when the catalogue revision in the
//! database moves on (any publish, suspension or synonym edit bumps it), so nodes agree.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use jieba_rs::Jieba;

use tongban_domain::item::ItemDefinition;
use tongban_store::catalogue::ItemRow;

/// One searchable item.
#[derive(Debug, Clone)]
pub struct Entry {
    pub row: ItemRow,
    name: String,
    keywords: Vec<String>,
    extra: String,
    initials: String,
    keyword_initials: Vec<String>,
    /// Name and keywords together, for the character-pair overlap.
    hay: String,
}

/// An immutable index over the published catalogue.
pub struct Index {
    pub revision: i64,
    entries: Vec<Entry>,
    /// Which entries contain each pair of adjacent Chinese characters: only entries sharing a
    /// pair with the query (or its synonyms and words) are scored.
    postings: HashMap<(char, char), Vec<u32>>,
    synonyms: Vec<(String, String)>,
    jieba: Jieba,
}

/// A hit: the item and how well it matched.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    pub entry: &'a Entry,
    pub score: i64,
}

impl Index {
    pub fn build(revision: i64, items: Vec<(ItemRow, ItemDefinition)>, synonyms: Vec<(String, String)>) -> Self {
        // The general dictionary segments everyday words (失业, 饭店); the catalogue's own words
        // are added on top so that official names stay whole.
        let mut jieba = Jieba::new();
        let mut words: HashSet<String> = HashSet::new();
        let mut entries = Vec::with_capacity(items.len());
        for (row, def) in items {
            let name = normalise(&def.name);
            let keywords: Vec<String> = def.keywords.iter().map(|k| normalise(k)).filter(|k| !k.is_empty()).collect();
            for w in keywords.iter().chain(std::iter::once(&name)) {
                words.insert(w.clone());
            }
            for part in name.split(|c: char| !is_cjk(c) && !c.is_alphanumeric()) {
                if part.chars().count() >= 2 {
                    words.insert(part.to_owned());
                }
            }
            let extra = normalise(&format!("{} {} {}", row.department.name, def.item_type, def.conditions.join(" ")));
            let initials = initials(&def.name);
            let keyword_initials = keywords.iter().map(|k| self::initials(k)).filter(|k| k.len() >= 2).collect();
            let hay = format!("{} {}", name, keywords.join(" "));
            entries.push(Entry { row, name, keywords, extra, initials, keyword_initials, hay });
        }
        let synonyms: Vec<(String, String)> = synonyms
            .into_iter()
            .map(|(t, c)| (normalise(&t), normalise(&c)))
            .filter(|(t, c)| !t.is_empty() && !c.is_empty())
            .collect();
        for (t, c) in &synonyms {
            words.insert(t.clone());
            words.insert(c.clone());
        }
        for w in &words {
            // Longer words win in segmentation: weight by length.
            let freq = 10usize.pow(w.chars().count().min(6) as u32);
            jieba.add_word(w, Some(freq), None);
        }
        let mut postings: HashMap<(char, char), Vec<u32>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            // Name, keywords and department: conditions text would make every pair common.
            let mut seen: Vec<(char, char)> = char_pairs(&e.hay).chain(char_pairs(&e.row.department.name)).collect();
            seen.sort_unstable();
            seen.dedup();
            for p in seen {
                postings.entry(p).or_default().push(i as u32);
            }
        }
        Index { revision, entries, postings, synonyms, jieba }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every published item, in code order (which groups them by department).
    pub fn rows(&self) -> impl Iterator<Item = &ItemRow> {
        self.entries.iter().map(|e| &e.row)
    }

    /// Ranked hits; `keep` filters entries (department, subject) before ranking.
    pub fn search(&self, query: &str, keep: impl Fn(&Entry) -> bool) -> Vec<Hit<'_>> {
        let q = normalise(query);
        if q.is_empty() {
            return Vec::new();
        }
        // Synonyms whose term appears in the query add their official wording.
        let expansions: Vec<&str> = self
            .synonyms
            .iter()
            .filter(|(t, _)| q.contains(t.as_str()) || object_of(t).is_some_and(|o| q.contains(o)))
            .map(|(_, c)| c.as_str())
            .collect();
        let mut tokens: Vec<String> = Vec::new();
        for text in std::iter::once(q.as_str()).chain(expansions.iter().copied()) {
            for t in self.jieba.cut_for_search(text, false) {
                let t = t.word.trim();
                if t.chars().count() >= 2 && !STOP_WORDS.contains(&t) && !tokens.iter().any(|x| x == t) {
                    tokens.push(t.to_owned());
                }
            }
        }
        let bigrams = bigrams(&q);
        let ascii = q.chars().all(|c| c.is_ascii_alphabetic());
        let mut pairs: Vec<(char, char)> = Vec::new();
        for text in
            std::iter::once(q.as_str()).chain(expansions.iter().copied()).chain(tokens.iter().map(String::as_str))
        {
            pairs.extend(char_pairs(text));
        }
        // Letters (pinyin initials) and single characters cannot use the pairs: scan everything.
        let candidates: Vec<u32> = if ascii || pairs.is_empty() {
            (0..self.entries.len() as u32).collect()
        } else {
            let mut c: Vec<u32> = pairs.iter().filter_map(|p| self.postings.get(p)).flatten().copied().collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        let mut hits: Vec<Hit<'_>> = candidates
            .into_iter()
            .filter_map(|i| self.entries.get(i as usize))
            .filter(|e| keep(e))
            .filter_map(|e| {
                let score = score(e, &q, &expansions, &tokens, &bigrams, ascii);
                (score > 0).then_some(Hit { entry: e, score })
            })
            .collect();
        hits.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then_with(|| a.entry.name.chars().count().cmp(&b.entry.name.chars().count()))
                .then_with(|| a.entry.row.code.cmp(&b.entry.row.code))
        });
        hits
    }
}

const STOP_WORDS: &[&str] = &["办理", "怎么", "如何", "我要", "我想", "申请", "需要", "什么", "哪里", "可以"];

fn score(e: &Entry, q: &str, expansions: &[&str], tokens: &[String], bigrams: &[String], ascii: bool) -> i64 {
    let mut s = 0i64;
    if e.name == q {
        s += 1000;
    } else if e.name.contains(q) {
        s += 400;
    }
    if e.keywords.iter().any(|k| k == q) {
        s += 350;
    } else if e.keywords.iter().any(|k| q.contains(k.as_str()) && k.chars().count() >= 2) {
        s += 200;
    }
    for x in expansions {
        if e.name.contains(x) {
            s += 300;
        } else if e.keywords.iter().any(|k| k.contains(x)) {
            s += 120;
        }
    }
    for t in tokens {
        let w = t.chars().count() as i64;
        if e.name.contains(t.as_str()) {
            s += 30 * w;
        } else if e.keywords.iter().any(|k| k.contains(t.as_str())) {
            s += 20 * w;
        } else if e.extra.contains(t.as_str()) {
            s += 3 * w;
        }
    }
    if !bigrams.is_empty() {
        let covered = bigrams.iter().filter(|b| e.hay.contains(b.as_str())).count() as i64;
        // Only a real overlap counts: most of the query's character pairs.
        if covered * 2 >= bigrams.len() as i64 {
            s += 60 * covered / bigrams.len() as i64 * 2;
        }
    }
    if ascii && q.len() >= 2 {
        if e.initials == q {
            s += 900;
        } else if e.initials.starts_with(q) {
            s += 500;
        } else if e.keyword_initials.iter().any(|k| k == q) {
            s += 700;
        } else if e.initials.contains(q) {
            s += 150;
        }
    }
    // A little weight for items people can finish online: they are what most searchers want.
    if s > 0 && e.row.fully_online {
        s += 1;
    }
    s
}

/// The object of a verb-object phrase (开饭店 → 饭店, 办居住证 → 居住证), so that "开一家饭店"
/// still meets the synonym "开饭店".
fn object_of(term: &str) -> Option<&str> {
    const VERBS: &[char] = &['开', '办', '领', '取', '交', '换', '补', '查', '缴', '申', '报', '考'];
    let mut chars = term.char_indices();
    let (_, first) = chars.next()?;
    let (at, _) = chars.next()?;
    let rest = &term[at..];
    (VERBS.contains(&first) && rest.chars().count() >= 2).then_some(rest)
}

/// Lower-case, half-width, without spaces and punctuation noise.
pub fn normalise(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace() && !matches!(c, '?' | '!' | ',' | '.' | '、' | '。' | '，' | '？' | '！'))
        .collect()
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

fn char_pairs(text: &str) -> impl Iterator<Item = (char, char)> + '_ {
    let chars: Vec<char> = text.chars().filter(|c| is_cjk(*c)).collect();
    (1..chars.len()).map(move |i| (chars[i - 1], chars[i]))
}

fn bigrams(q: &str) -> Vec<String> {
    let chars: Vec<char> = q.chars().filter(|c| is_cjk(*c)).collect();
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// Pinyin initials of the Chinese characters of a name (个体工商户设立登记 → gtgshsldj).
pub fn initials(name: &str) -> String {
    use pinyin::ToPinyin;
    name.chars().filter_map(|c| c.to_pinyin().map(|p| p.first_letter().to_owned())).collect::<String>().to_lowercase()
}

/// The shared, swappable index of a node.
#[derive(Default)]
pub struct SearchIndex {
    current: RwLock<Option<std::sync::Arc<Index>>>,
    /// Held while one task rebuilds, so that a burst of searches after a change builds once.
    rebuilding: tokio::sync::Mutex<()>,
}

impl SearchIndex {
    pub async fn rebuild_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.rebuilding.lock().await
    }

    pub fn get(&self) -> Option<std::sync::Arc<Index>> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set(&self, index: Index) -> std::sync::Arc<Index> {
        let index = std::sync::Arc::new(index);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(index.clone());
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_and_normalisation() {
        assert_eq!(initials("个体工商户设立登记"), "gtgshsldj");
        assert_eq!(normalise(" 社保 Ｃａｒｄ？"), "社保card");
        assert_eq!(bigrams("社保卡"), vec!["社保".to_owned(), "保卡".to_owned()]);
    }
}
