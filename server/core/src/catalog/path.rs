//! Request paths as a playbook writes them, and how they line up with a catalog's path templates.
//!
//! A playbook's path is often an f-string (`f"/urls/{url.id}"`), so what the validator knows of it
//! is literal text with holes. Matching works on segments: a hole could be anything, so it matches
//! any one segment, but a literal match always counts for more than a guess.

use std::cmp::Ordering;

/// One piece of an f-string, as the caller's parser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    /// Literal text (with `{{`/`}}` escapes already undone).
    Text(String),
    /// An interpolated expression, whose value is unknown.
    Hole,
}

/// One `/`-separated segment of a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text only. An empty literal is what `//` or a trailing `/` leaves.
    Literal(String),
    /// Nothing but one or more holes: `{user_id}`.
    Hole,
    /// Literal text plus at least one hole: `{id}.json`, `user-{n}`.
    Mixed,
}

/// A request path as the playbook wrote it: literal text with holes where an f-string interpolates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathPattern {
    /// The path split on `/`, leading empty segment dropped (so `/a/b` is `["a", "b"]`).
    pub segments: Vec<Segment>,
    /// The query string written into the path (`?a=1&b`), as (key, literal value) pairs. The value
    /// is `None` when there is no `=` or when the value has a hole. Keys are kept as written (no
    /// percent-decoding). A fragment (`#…`) is dropped: it is never sent.
    pub query: Vec<(String, Option<String>)>,
    /// A hole stands where a query key could be (`f"/x?{qs}"`), so `query` may not list every key
    /// that is sent: do not report a query parameter as missing.
    pub opaque_query: bool,
}

impl PathPattern {
    /// A path with no holes, e.g. the argument of `vt.get("/urls/abc")`.
    pub fn parse_literal(s: &str) -> Self {
        Self::from_parts(&[PathPart::Text(s.to_owned())])
    }

    /// A path from the pieces of an f-string (or a plain string: one `Text`).
    pub fn from_parts(parts: &[PathPart]) -> Self {
        let mut builder = Builder::default();
        for part in parts {
            match part {
                PathPart::Text(text) => text.chars().for_each(|c| builder.push_char(c)),
                PathPart::Hole => builder.push_hole(),
            }
        }
        builder.finish()
    }

    /// The value of a query key written into the path, when it is literal.
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    /// The pattern-level twin of [`resolve_request_path`]: the full path the runtime will request
    /// under a profile whose base URL has path `base_path`. The query is kept as it is.
    pub fn resolve(&self, base_path: &str) -> PathPattern {
        let base = literal_segments(base_path);
        let rel = strip_prefix(&self.segments, &base).unwrap_or(&self.segments);
        let mut segments: Vec<Segment> = base.into_iter().map(Segment::Literal).collect();
        segments.extend(rel.iter().cloned());
        PathPattern {
            segments,
            query: self.query.clone(),
            opaque_query: self.opaque_query,
        }
    }

    /// The ways this path may line up with a catalog's templates, most exact first; see
    /// `ApiCatalog::lookup` for the rule.
    pub(crate) fn catalog_readings(&self, base_path: &str, server_path: &str) -> Vec<Reading> {
        let base = literal_segments(base_path);
        let server = literal_segments(server_path);
        let rel = strip_prefix(&self.segments, &base).unwrap_or(&self.segments);
        let mut full: Vec<Segment> = base.iter().cloned().map(Segment::Literal).collect();
        full.extend(rel.iter().cloned());
        let mut readings = Vec::with_capacity(3);
        // The exact reading: the URL's path is base + request, and the catalog's templates hang
        // off its server's path.
        if let Some(tail) = strip_prefix(&full, &server) {
            readings.push(Reading::Whole(tail.to_vec()));
        }
        // The lenient reading, for a base URL that is not the catalog's server (a proxy, another
        // API version): the base stands for the server, and a request path may repeat the
        // server's path.
        let lenient = Reading::Whole(strip_prefix(rel, &server).unwrap_or(rel).to_vec());
        if !readings.contains(&lenient) {
            readings.push(lenient);
        }
        // `f"{prefix}/users/{id}"`: a leading hole may stand for any number of segments (a base
        // URL kept in a variable), so only the rest has to fit the end of a template.
        if let [Segment::Hole, rest @ ..] = self.segments.as_slice()
            && !trim_trailing_slash(rest).is_empty()
        {
            readings.push(Reading::Tail(rest.to_vec()));
        }
        readings
    }
}

/// One way a call's path may line up with the catalog's templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reading {
    /// These segments are the whole path below the catalog's server.
    Whole(Vec<Segment>),
    /// These segments are the end of the path; what comes before them is unknown.
    Tail(Vec<Segment>),
}

impl Reading {
    /// Whether a template fits this reading, and how well.
    pub(crate) fn matches(&self, template: &[TemplateSegment]) -> Option<Score> {
        let (call, whole) = match self {
            Reading::Whole(call) => (trim_trailing_slash(call), true),
            Reading::Tail(call) => (trim_trailing_slash(call), false),
        };
        let count = template.len();
        if (whole && count != call.len()) || count < call.len() {
            return None;
        }
        let tail = template.get(template.len().checked_sub(call.len())?..)?;
        match_template(tail, call)
    }

    /// How far the reading is from a template, for "did you mean".
    pub(crate) fn distance(&self, template: &[TemplateSegment]) -> f64 {
        match self {
            Reading::Whole(call) => {
                // Two missing or extra segments already cost more than a suggestion may.
                if template.len().abs_diff(trim_trailing_slash(call).len()) > 1 {
                    return f64::INFINITY;
                }
                path_distance(template, call)
            }
            // A path whose start is unknown is too vague to suggest anything for.
            Reading::Tail(_) => f64::INFINITY,
        }
    }
}

/// How many segments of a template are fixed text: the evidence a near miss can rest on.
pub(crate) fn literal_segment_count(template: &[TemplateSegment]) -> usize {
    template
        .iter()
        .filter(|segment| !matches!(segment, TemplateSegment::Param(_)))
        .count()
}

/// The path the runtime requests for `request_path` under a profile whose `base_url` has path
/// `base_path`: the base path followed by the request path, unless the request path already
/// starts with the base path (on a segment boundary), in which case it is not repeated. A query
/// string or fragment on the request path is kept as written.
///
/// `resolve_request_path("/api/v3", "/urls/x")` and `resolve_request_path("/api/v3", "/api/v3/urls/x")`
/// are both `"/api/v3/urls/x"`.
pub fn resolve_request_path(base_path: &str, request_path: &str) -> String {
    let split = request_path.find(['?', '#']).unwrap_or(request_path.len());
    let (path, rest) = request_path.split_at(split);
    let base = base_path.trim_end_matches('/');
    let base = if base.is_empty() || base.starts_with('/') {
        base.to_owned()
    } else {
        format!("/{base}")
    };
    let path = if path.is_empty() || path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let already_based = !base.is_empty()
        && (path == base
            || path
                .strip_prefix(&base)
                .is_some_and(|tail| tail.starts_with('/')));
    let mut full = if base.is_empty() || already_based {
        path
    } else {
        format!("{base}{path}")
    };
    if full.is_empty() {
        full.push('/');
    }
    full.push_str(rest);
    full
}

/// Accumulates an f-string's characters and holes into segments and query pairs.
#[derive(Default)]
struct Builder {
    zone: Zone,
    segments: Vec<Segment>,
    text: String,
    holes: bool,
    /// Set once the first `/` was seen, so the empty segment before a leading `/` is dropped.
    started: bool,
    pair: QueryPair,
    query: Vec<(String, Option<String>)>,
    opaque_query: bool,
}

#[derive(Default, PartialEq, Eq)]
enum Zone {
    #[default]
    Path,
    Query,
    Fragment,
}

#[derive(Default)]
struct QueryPair {
    key: String,
    key_hole: bool,
    value: Option<String>,
    value_hole: bool,
}

impl Builder {
    fn push_char(&mut self, c: char) {
        match self.zone {
            Zone::Path => match c {
                '/' => self.end_segment(),
                '?' => self.zone = Zone::Query,
                '#' => self.zone = Zone::Fragment,
                _ => self.text.push(c),
            },
            Zone::Query => match c {
                '&' => self.end_pair(),
                '#' => self.zone = Zone::Fragment,
                '=' if self.pair.value.is_none() => self.pair.value = Some(String::new()),
                _ => match &mut self.pair.value {
                    Some(value) => value.push(c),
                    None => self.pair.key.push(c),
                },
            },
            Zone::Fragment => {}
        }
    }

    fn push_hole(&mut self) {
        match self.zone {
            Zone::Path => self.holes = true,
            Zone::Query if self.pair.value.is_some() => self.pair.value_hole = true,
            Zone::Query => self.pair.key_hole = true,
            Zone::Fragment => {}
        }
    }

    fn end_segment(&mut self) {
        let text = std::mem::take(&mut self.text);
        let holes = std::mem::replace(&mut self.holes, false);
        let first = !std::mem::replace(&mut self.started, true);
        let segment = match (holes, text.is_empty()) {
            (false, _) => Segment::Literal(text),
            (true, true) => Segment::Hole,
            (true, false) => Segment::Mixed,
        };
        if !(first && segment == Segment::Literal(String::new())) {
            self.segments.push(segment);
        }
    }

    fn end_pair(&mut self) {
        let pair = std::mem::take(&mut self.pair);
        if pair.key_hole {
            self.opaque_query = true;
        } else if !pair.key.is_empty() || pair.value.is_some() {
            let value = if pair.value_hole { None } else { pair.value };
            self.query.push((pair.key, value));
        }
    }

    fn finish(mut self) -> PathPattern {
        // A path that is empty, or only a query, has no segment at all (it is the base URL itself).
        if self.started || !self.text.is_empty() || self.holes {
            self.end_segment();
        }
        self.end_pair();
        PathPattern {
            segments: self.segments,
            query: self.query,
            opaque_query: self.opaque_query,
        }
    }
}

/// The segments of a literal path such as a base URL's path, without empty ones at either end.
pub(crate) fn literal_segments(path: &str) -> Vec<String> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').map(str::to_owned).collect()
    }
}

/// `segments` without `prefix`, when every prefix segment is matched by an equal literal.
fn strip_prefix<'a>(segments: &'a [Segment], prefix: &[String]) -> Option<&'a [Segment]> {
    if prefix.len() > segments.len() {
        return None;
    }
    let matches = prefix
        .iter()
        .zip(segments)
        .all(|(want, got)| matches!(got, Segment::Literal(text) if text == want));
    matches.then(|| &segments[prefix.len()..])
}

/// A call's segments without the one empty segment a trailing `/` leaves.
pub(crate) fn trim_trailing_slash(segments: &[Segment]) -> &[Segment] {
    match segments.split_last() {
        Some((Segment::Literal(last), rest)) if last.is_empty() => rest,
        _ => segments,
    }
}

/// One segment of a catalog's path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateSegment {
    Literal(String),
    /// The whole segment is one parameter: `{user-id}`.
    Param(String),
    /// Literal text around parameters: `{id}.json`, `getReport(period='{period}')`.
    Pattern(Vec<Piece>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Param(String),
}

impl TemplateSegment {
    pub(crate) fn params(&self) -> Vec<&str> {
        match self {
            TemplateSegment::Literal(_) => Vec::new(),
            TemplateSegment::Param(name) => vec![name.as_str()],
            TemplateSegment::Pattern(pieces) => pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Param(name) => Some(name.as_str()),
                    Piece::Text(_) => None,
                })
                .collect(),
        }
    }
}

/// Splits a catalog template (`/users/{user-id}/messages`) into segments; a trailing `/` is dropped.
pub(crate) fn parse_template(template: &str) -> Vec<TemplateSegment> {
    literal_segments(template)
        .into_iter()
        .map(|segment| {
            let pieces = template_pieces(&segment);
            match pieces.as_slice() {
                [] => TemplateSegment::Literal(String::new()),
                [Piece::Text(text)] => TemplateSegment::Literal(text.clone()),
                [Piece::Param(name)] => TemplateSegment::Param(name.clone()),
                _ => TemplateSegment::Pattern(pieces),
            }
        })
        .collect()
}

fn template_pieces(segment: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = segment;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_owned()));
        }
        pieces.push(Piece::Param(rest[open + 1..close].to_owned()));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    pieces
}

/// How well a call's path fits a template: literal agreement first, guesses last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Score {
    /// Segments where the call's literal text fits the template's literal text.
    literal: usize,
    /// Segments where a hole in the call stands against literal text in the template: possible,
    /// but a guess.
    guessed: usize,
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.literal
            .cmp(&other.literal)
            .then(other.guessed.cmp(&self.guessed))
    }
}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Whether the call's segments fit the template, and how well.
fn match_template(template: &[TemplateSegment], call: &[Segment]) -> Option<Score> {
    let call = trim_trailing_slash(call);
    if template.len() != call.len() {
        return None;
    }
    let mut score = Score {
        literal: 0,
        guessed: 0,
    };
    for (t, c) in template.iter().zip(call) {
        match (t, c) {
            (TemplateSegment::Param(_), _) => {}
            (TemplateSegment::Literal(want), Segment::Literal(got)) => {
                if want != got {
                    return None;
                }
                score.literal += 1;
            }
            (TemplateSegment::Pattern(pieces), Segment::Literal(got)) => {
                if !pattern_matches(pieces, got) {
                    return None;
                }
                score.literal += 1;
            }
            (
                TemplateSegment::Literal(_) | TemplateSegment::Pattern(_),
                Segment::Hole | Segment::Mixed,
            ) => {
                score.guessed += 1;
            }
        }
    }
    Some(score)
}

/// Glob-style match of literal text against `text{param}text` pieces; a parameter takes any text,
/// even none (an empty value is reported as a missing parameter, not as an unknown endpoint).
fn pattern_matches(pieces: &[Piece], text: &str) -> bool {
    // The fixed text between parameters: with parameters matching anything, taking each middle
    // chunk at its leftmost place is enough, and never backtracks.
    let mut chunks = vec![String::new()];
    for piece in pieces {
        match piece {
            Piece::Text(t) => chunks.last_mut().into_iter().for_each(|c| c.push_str(t)),
            Piece::Param(_) => chunks.push(String::new()),
        }
    }
    let (first, last) = match chunks.as_slice() {
        [only] => return text == only,
        [first, .., last] => (first, last),
        [] => return text.is_empty(),
    };
    if text.len() < first.len() + last.len()
        || !text.starts_with(first.as_str())
        || !text.ends_with(last.as_str())
    {
        return false;
    }
    let mut middle = &text[first.len()..text.len() - last.len()];
    for chunk in &chunks[1..chunks.len() - 1] {
        match middle.find(chunk.as_str()) {
            Some(at) => middle = &middle[at + chunk.len()..],
            None => return false,
        }
    }
    true
}

/// Cost of a segment the call has and the template lacks, or the reverse: less than a wholly
/// wrong segment, since a forgotten segment is a common slip.
const GAP_COST: f64 = 0.9;

/// How far a call's path is from a template, for "did you mean": 0 is a fit, a wrong segment
/// costs up to 1 (a near-miss spelling much less), a missing or extra one [`GAP_COST`].
fn path_distance(template: &[TemplateSegment], call: &[Segment]) -> f64 {
    let call = trim_trailing_slash(call);
    let n = call.len();
    let mut prev: Vec<f64> = (0..=n).map(|j| j as f64 * GAP_COST).collect();
    for (i, t) in template.iter().enumerate() {
        let mut row = vec![(i + 1) as f64 * GAP_COST; n + 1];
        for (j, c) in call.iter().enumerate() {
            let substitute = prev[j] + segment_distance(t, c);
            row[j + 1] = substitute
                .min(prev[j + 1] + GAP_COST)
                .min(row[j] + GAP_COST);
        }
        prev = row;
    }
    prev[n]
}

/// What a hole standing against literal template text costs in a suggestion: it may be right,
/// but it is no evidence that the call meant this endpoint.
const HOLE_FOR_LITERAL_COST: f64 = 0.5;

fn segment_distance(t: &TemplateSegment, c: &Segment) -> f64 {
    match (t, c) {
        (TemplateSegment::Param(_), _) => 0.0,
        (_, Segment::Hole | Segment::Mixed) => HOLE_FOR_LITERAL_COST,
        (TemplateSegment::Literal(want), Segment::Literal(got)) => text_distance(want, got),
        (TemplateSegment::Pattern(pieces), Segment::Literal(got)) => {
            if pattern_matches(pieces, got) {
                0.0
            } else {
                1.0
            }
        }
    }
}

/// Past this length two different segments are simply different: the edit distance is
/// quadratic, and a playbook's string can be long.
const MAX_COMPARED_CHARS: usize = 64;

/// Edit distance scaled to 0..=1; a difference of case alone is a near miss.
pub(crate) fn text_distance(a: &str, b: &str) -> f64 {
    if a == b {
        return 0.0;
    }
    if a.len() > MAX_COMPARED_CHARS || b.len() > MAX_COMPARED_CHARS {
        return 1.0;
    }
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            row[j + 1] = substitute.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    // Equal but for case: rank just above an exact match.
    (prev[b.len()] as f64 / longest as f64).max(0.05)
}

/// Whether a literal segment still holds an f-string placeholder, as when the `f` prefix was
/// forgotten: `"/users/{upn}"`.
pub(crate) fn looks_like_placeholder(text: &str) -> bool {
    text.find('{')
        .and_then(|open| text[open + 1..].find('}'))
        .is_some_and(|len| len > 0)
}
