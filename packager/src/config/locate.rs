//! Maps config errors to field paths and lines: serde errors carry a byte span, semantic
//! errors carry a field path; the parsed `toml_edit` document (which keeps spans) gives the
//! other half.

use super::ConfigError;
use std::ops::Range;
use toml_edit::{ImDocument, Item, Value};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
    /// `stream[index]`, shown as `stream "name"` when the name is known.
    Stream { index: usize, name: Option<String> },
}

/// Shorthand for a key segment.
pub(crate) fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

/// The source text with its span-keeping parse, or nothing (for configs built in code).
pub(crate) struct Document {
    source_name: String,
    text: String,
    doc: Option<ImDocument<String>>,
}

impl Document {
    /// Parses `text` for spans; a syntax error becomes [`ConfigError::Syntax`].
    pub(crate) fn parse(text: &str, source_name: &str) -> Result<Document, ConfigError> {
        match ImDocument::parse(text.to_owned()) {
            Ok(doc) => Ok(Document {
                source_name: source_name.into(),
                text: text.into(),
                doc: Some(doc),
            }),
            Err(e) => Err(ConfigError::Syntax {
                source_name: source_name.into(),
                line: e.span().map(|s| line_of(text, s.start)),
                message: e.message().trim().to_owned(),
            }),
        }
    }

    /// A document without text: paths but no lines.
    pub(crate) fn empty(source_name: &str) -> Document {
        Document {
            source_name: source_name.into(),
            text: String::new(),
            doc: None,
        }
    }

    /// Converts a serde error (unknown field, wrong type, bad value) to a located error.
    pub(crate) fn serde_error(&self, e: &toml::de::Error) -> ConfigError {
        let message = e.message().trim().to_owned();
        let Some(span) = e.span() else {
            return ConfigError::Invalid {
                source_name: self.source_name.clone(),
                field: "(top level)".into(),
                line: None,
                message,
            };
        };
        let path = self
            .doc
            .as_ref()
            .and_then(|d| find(d.as_item(), span.start))
            .unwrap_or_default();
        let path = self.name_streams(path);
        ConfigError::Invalid {
            source_name: self.source_name.clone(),
            field: render(&path),
            line: Some(line_of(&self.text, span.start)),
            message,
        }
    }

    /// A semantic error at `path`; the line is that of the field, or of the nearest table
    /// that exists when the field is absent.
    pub(crate) fn invalid(&self, path: &[Seg], message: String) -> ConfigError {
        let line = self
            .doc
            .as_ref()
            .and_then(|d| span_of(d.as_item(), path))
            .map(|s| line_of(&self.text, s.start));
        // A field missing at the top level points at the start of the file.
        let line = line.or(self.doc.as_ref().map(|_| 1));
        ConfigError::Invalid {
            source_name: self.source_name.clone(),
            field: render(path),
            line,
            message,
        }
    }

    fn name_streams(&self, path: Vec<Seg>) -> Vec<Seg> {
        let mut out = Vec::with_capacity(path.len());
        let mut iter = path.into_iter().peekable();
        while let Some(seg) = iter.next() {
            match (&seg, iter.peek()) {
                (Seg::Key(k), Some(Seg::Index(i))) if k == "stream" && out.is_empty() => {
                    let index = *i;
                    iter.next();
                    let name = self.doc.as_ref().and_then(|d| {
                        d.as_item()
                            .get("stream")?
                            .as_array_of_tables()?
                            .get(index)?
                            .get("name")?
                            .as_str()
                            .map(str::to_owned)
                    });
                    out.push(Seg::Stream { index, name });
                }
                _ => out.push(seg),
            }
        }
        out
    }
}

/// 1-based line number of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// `stream "news" rung[2].bitrate`.
pub(crate) fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Stream { index, name } => match name {
                Some(n) if !n.is_empty() => out.push_str(&format!("stream {n:?}")),
                _ => out.push_str(&format!("stream[{index}]")),
            },
            Seg::Key(k) => {
                if out.ends_with('"') {
                    out.push(' ');
                } else if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        out.push_str("(top level)");
    }
    out
}

enum Node<'a> {
    Item(&'a Item),
    Table(&'a toml_edit::Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn span(&self) -> Option<Range<usize>> {
        match self {
            Node::Item(i) => i.span().or_else(|| i.as_table().and_then(|t| t.span())),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        }
    }

    fn child_key(&self, k: &str) -> Option<(Option<Range<usize>>, Node<'a>)> {
        match self {
            Node::Item(i) => {
                let t = i.as_table_like()?;
                let (key, item) = t.get_key_value(k)?;
                Some((key.span(), Node::Item(item)))
            }
            Node::Table(t) => {
                let (key, item) = t.get_key_value(k)?;
                Some((key.span(), Node::Item(item)))
            }
            Node::Value(Value::InlineTable(t)) => {
                let (key, item) = t.get_key_value(k)?;
                Some((key.span(), Node::Item(item)))
            }
            Node::Value(_) => None,
        }
    }

    fn child_index(&self, i: usize) -> Option<Node<'a>> {
        match self {
            Node::Item(Item::ArrayOfTables(a)) => a.get(i).map(Node::Table),
            Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => {
                a.get(i).map(Node::Value)
            }
            _ => None,
        }
    }

    fn children(&self) -> Vec<(Seg, Option<Range<usize>>, Node<'a>)> {
        let mut out = Vec::new();
        match self {
            Node::Item(Item::ArrayOfTables(a)) => {
                for (i, t) in a.iter().enumerate() {
                    out.push((Seg::Index(i), None, Node::Table(t)));
                }
            }
            Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    out.push((Seg::Index(i), None, Node::Value(v)));
                }
            }
            Node::Table(t) => {
                for (k, _) in t.iter() {
                    if let Some((ks, item)) = t.get_key_value(k) {
                        out.push((key(k), ks.span(), Node::Item(item)));
                    }
                }
            }
            Node::Item(i) => {
                if let Some(t) = i.as_table_like() {
                    for (k, _) in t.iter() {
                        if let Some((ks, item)) = t.get_key_value(k) {
                            out.push((key(k), ks.span(), Node::Item(item)));
                        }
                    }
                }
            }
            Node::Value(Value::InlineTable(t)) => {
                for (k, _) in t.iter() {
                    if let Some((ks, item)) = t.get_key_value(k) {
                        out.push((key(k), ks.span(), Node::Item(item)));
                    }
                }
            }
            Node::Value(_) => {}
        }
        out
    }
}

fn contains(span: &Option<Range<usize>>, offset: usize) -> bool {
    span.as_ref()
        .is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

/// The deepest path whose key or value span contains `offset`.
fn find(root: &Item, offset: usize) -> Option<Vec<Seg>> {
    fn walk(node: &Node<'_>, offset: usize) -> Option<Vec<Seg>> {
        for (seg, key_span, child) in node.children() {
            if contains(&key_span, offset) {
                return Some(vec![seg]);
            }
            if let Some(mut rest) = walk(&child, offset) {
                rest.insert(0, seg);
                return Some(rest);
            }
            if contains(&child.span(), offset) {
                return Some(vec![seg]);
            }
        }
        None
    }
    walk(&Node::Item(root), offset)
}

/// The span of `path`, or of its longest existing prefix.
fn span_of(root: &Item, path: &[Seg]) -> Option<Range<usize>> {
    let mut node = Node::Item(root);
    let mut best: Option<Range<usize>> = None;
    for seg in path {
        let next = match seg {
            Seg::Key(k) => node.child_key(k).map(|(ks, n)| {
                let span = n.span().or(ks);
                (span, n)
            }),
            Seg::Index(i) | Seg::Stream { index: i, .. } => {
                let n = match seg {
                    Seg::Stream { .. } => node
                        .child_key("stream")
                        .and_then(|(_, s)| s.child_index(*i)),
                    _ => node.child_index(*i),
                };
                n.map(|n| (n.span(), n))
            }
        };
        match next {
            Some((span, n)) => {
                best = span.or(best);
                node = n;
            }
            None => break,
        }
    }
    best
}
