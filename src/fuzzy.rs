//! Fuzzy matching for the student search: the query's letters must appear in
//! order; consecutive letters and word starts score higher. Pure.

/// `None` when `query` does not match `text`; otherwise higher is better.
pub fn score(query: &str, text: &str) -> Option<i64> {
    let query: Vec<char> = query
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if query.is_empty() {
        return Some(0);
    }
    let text: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let mut score = 0;
    let mut next = 0;
    let mut previous_match: Option<usize> = None;
    for (i, c) in text.iter().enumerate() {
        if next == query.len() {
            break;
        }
        if *c == query[next] {
            let word_start = i == 0 || !text[i - 1].is_alphanumeric();
            score += 1;
            if word_start {
                score += 8;
            }
            // A run (a typed prefix of a word) beats scattered initials.
            if previous_match.is_some_and(|p| p + 1 == i) {
                score += 10;
            }
            previous_match = Some(i);
            next += 1;
        }
    }
    // Shorter texts first among equals.
    (next == query.len()).then(|| score * 100 - text.len() as i64)
}

/// The items matching `query`, best first (stable for equal scores).
pub fn rank<'a, T>(query: &str, items: &'a [T], text: impl Fn(&T) -> String) -> Vec<&'a T> {
    let mut scored: Vec<(i64, usize, &T)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| score(query, &text(item)).map(|s| (s, i, item)))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, item)| item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_in_order_match_and_others_do_not() {
        assert!(score("adlo", "Ada Lovelace").is_some());
        assert!(score("ADA", "Ada Lovelace").is_some());
        assert!(score("zz", "Ada Lovelace").is_none());
        assert!(score("ecalevol", "Ada Lovelace").is_none());
        assert_eq!(score("", "anyone"), Some(0));
    }

    #[test]
    fn word_starts_and_runs_rank_first() {
        let names = [
            "Grace Hopper",
            "Alan Turing",
            "Ada Lovelace",
            "Adele Goldberg",
        ];
        let ranked = rank("al", &names, |n| n.to_string());
        assert_eq!(ranked[0], &"Alan Turing");
        let ranked = rank("ada l", &names, |n| n.to_string());
        assert_eq!(ranked, [&"Ada Lovelace"]);
    }
}
