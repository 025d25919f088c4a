//! Product import: an owner's CSV upload, or a JSON feed, turned into validated
//! product drafts with a report for every row.
//!
//! Pure parsing and validation, no database: the preview the owner confirms is
//! exactly what gets saved, and every refusal is a sentence they can act on
//! (which line, which column, what to type instead). Shop owners export from
//! Excel or Google Sheets, often with Bangla text, so the checks are strict
//! about encoding and file type and forgiving about header case and spacing.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::money::{self, Money, digit_value};

/// The largest upload accepted, 2 MiB: thousands of products, and small enough
/// to hold and validate in memory.
pub const MAX_IMPORT_BYTES: usize = 2 * 1024 * 1024;

/// Limits mirror the `products` / `product_variants` table checks, so a valid
/// preview never fails on insert.
const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 5000;
const MAX_VARIANT_LABEL_CHARS: usize = 50;
const MAX_TAG_CHARS: usize = 40;
const MAX_TAGS: usize = 20;
const MAX_IMAGE_URL_CHARS: usize = 2000;
const MAX_IMAGES: usize = 10;
const MAX_STOCK: i64 = 1_000_000;
const MAX_SKU_CHARS: usize = 64;

/// A downloadable starting point: every column, a product with a Bangla name,
/// a made-to-order item, and a variant row of the first product.
pub const TEMPLATE_CSV: &str = "\
sku,name,name_bn,description,price,sale_price,stock,tags,active,image_urls,variant_of,size,colour,price_delta
SAREE-001,Tangail cotton saree,টাঙ্গাইল সুতি শাড়ি,\"Handwoven cotton saree from Tangail, 6 yards, with blouse piece.\",2500,2200,12,saree;cotton;tangail,yes,https://example.com/images/saree-001.jpg,,,,
CAKE-001,Custom birthday cake (1 kg),কাস্টম জন্মদিনের কেক,\"Chocolate or vanilla, with your message on top. Order 2 days ahead.\",1800,,made to order,cake;birthday,yes,,,,,
,,,,,,5,,,,SAREE-001,Free,Red,0
";

/// How many of an item can be sold right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stock {
    /// Counted stock, 0..=1,000,000; 0 means sold out.
    Quantity(i32),
    /// Made after the order (tailoring, cakes), so never "sold out".
    MadeToOrder,
}

/// A product as it will be saved, after validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDraft {
    pub sku: String,
    pub name: String,
    pub name_bn: Option<String>,
    pub description: String,
    pub price: Money,
    pub sale_price: Option<Money>,
    pub stock: Stock,
    pub tags: Vec<String>,
    pub active: bool,
    pub image_urls: Vec<String>,
    pub variants: Vec<VariantDraft>,
}

/// One size/colour option of a product, priced relative to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantDraft {
    pub size: String,
    pub colour: String,
    /// Added to the product's price (and sale price); may be negative.
    pub price_delta: Money,
    pub stock: Stock,
}

/// What happened to one data row, so the owner can fix their sheet line by line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowReport {
    /// 1-based line in the file where the row starts (the header is line 1);
    /// for a JSON feed, the 1-based position in the product list.
    pub line: usize,
    /// The row's SKU (a variant row without one shows its `variant_of`).
    pub sku: String,
    /// Empty when the row is fine.
    pub errors: Vec<String>,
}

/// The result of reading an import, shown to the owner before anything is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvPreview {
    /// Products whose rows (and variant rows) had no errors, in file order.
    pub products: Vec<ProductDraft>,
    /// One per data row; blank rows are skipped.
    pub rows: Vec<RowReport>,
    /// Problems with the file as a whole (type, encoding, columns).
    pub file_errors: Vec<String>,
}

impl CsvPreview {
    /// Whether the import may be saved: all or nothing, so a half-imported
    /// catalog never leaves the reply engine quoting a mix of old and new.
    pub fn is_valid(&self) -> bool {
        self.file_errors.is_empty() && self.rows.iter().all(|row| row.errors.is_empty()) && !self.products.is_empty()
    }

    fn file_error(message: String) -> Self {
        CsvPreview {
            products: Vec::new(),
            rows: Vec::new(),
            file_errors: vec![message],
        }
    }
}

/// What a refused upload looks like, so the message can tell the owner what
/// they actually picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
    Gif,
    Excel,
    Word,
    OpenDocument,
    Zip,
    Gzip,
    LinuxProgram,
    WindowsProgram,
    OldOffice,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Pdf => "a PDF document",
            FileKind::Png => "a PNG image",
            FileKind::Jpeg => "a JPEG photo",
            FileKind::Gif => "a GIF image",
            FileKind::Excel => "an Excel file",
            FileKind::Word => "a Word document",
            FileKind::OpenDocument => "a LibreOffice document",
            FileKind::Zip => "a ZIP archive (or an Excel file)",
            FileKind::Gzip => "a compressed (gzip) file",
            FileKind::LinuxProgram => "a program, not a document",
            FileKind::WindowsProgram => "a Windows program, not a document",
            FileKind::OldOffice => "an old-style Excel (.xls) or Word (.doc) file",
        })
    }
}

/// Why an upload is not a CSV file we can read; the message is shown as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    #[error("The file is larger than 2 MB. Split it into smaller files and upload them one at a time.")]
    TooLarge,
    #[error("The file is empty. Download the template, fill it in and upload it again.")]
    Empty,
    /// A known binary format, whatever the file name says.
    #[error("This looks like {0}. Save it as CSV (UTF-8) and upload that.")]
    Binary(FileKind),
    /// Not UTF-8 (e.g. Excel's default "CSV" in a legacy code page, or UTF-16),
    /// which would garble Bangla.
    #[error("Save the file as CSV UTF-8 so Bangla text is kept.")]
    NotUtf8,
    #[error(
        "Line {line} contains hidden control characters, so this is not a plain CSV file. \
         Save it as CSV UTF-8 and upload that."
    )]
    ControlCharacters { line: usize },
    #[error("This looks like a web page, not a CSV file. Save your sheet as CSV UTF-8 and upload that.")]
    Html,
    /// Semicolon- or tab-separated export (some regional Excel settings).
    #[error(
        "This file seems to separate columns with semicolons or tabs. \
         Save it as CSV UTF-8 (comma delimited) and upload that."
    )]
    WrongSeparator,
    #[error(
        "The first line must name the columns, including sku, name and price. Missing: {}.",
        .missing.join(", ")
    )]
    MissingColumns { missing: Vec<&'static str> },
}

/// Checks that an upload is UTF-8 CSV text with at least the `sku`, `name`
/// and `price` columns, before any row is read, so a renamed PDF or Excel
/// workbook gets a clear "save it as CSV" instead of a page of row errors.
pub fn sniff_csv(bytes: &[u8]) -> Result<(), SniffError> {
    sniff_text(bytes).map(|_| ())
}

/// Reads and validates an owner's product CSV (header line first, columns in
/// any order, names case-insensitive). Never fails: everything wrong is in
/// the preview, by line, and [`CsvPreview::is_valid`] says whether to save.
pub fn parse_csv(bytes: &[u8]) -> CsvPreview {
    let text = match sniff_text(bytes) {
        Ok(text) => text,
        Err(error) => return CsvPreview::file_error(error.to_string()),
    };
    let mut reader = csv_reader(text);
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(error) => return CsvPreview::file_error(format!("The first line could not be read: {error}.")),
    };
    let mut file_errors = Vec::new();
    let mut columns: Vec<Option<Column>> = Vec::with_capacity(headers.len());
    let mut unknown = Vec::new();
    for header in &headers {
        let column = Column::from_key(header);
        if let Some(column) = column
            && columns.contains(&Some(column))
        {
            return CsvPreview::file_error(format!(
                "The column {} appears more than once in the first line. Keep only one.",
                column.name()
            ));
        }
        if column.is_none() && !header.trim().is_empty() {
            unknown.push(header.trim().to_owned());
        }
        columns.push(column);
    }
    if !unknown.is_empty() {
        file_errors.push(format!(
            "Unknown columns: {}. Rename or remove them; the columns are {}.",
            unknown.join(", "),
            Column::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
        ));
    }

    let mut reports = Vec::new();
    let mut entries = Vec::new();
    let mut lines = LineCounter::new(text);
    for result in reader.records() {
        let record = match result {
            Ok(record) => record,
            Err(error) => match error.kind() {
                csv::ErrorKind::UnequalLengths { pos, expected_len, len } => {
                    reports.push(RowReport {
                        line: pos.as_ref().map_or(0, |pos| lines.line_of(pos)),
                        sku: String::new(),
                        errors: vec![format!(
                            "This line has {len} values but the first line has {expected_len} columns. \
                             Put any value that contains a comma inside double quotes."
                        )],
                    });
                    continue;
                }
                _ => {
                    file_errors.push(format!("The file could not be read as CSV: {error}."));
                    break;
                }
            },
        };
        // Spreadsheets export formatted-but-empty rows as ",,,,"; they are not products.
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        let mut row = RawRow::default();
        let mut errors = Vec::new();
        for (index, (field, column)) in record.iter().zip(&columns).enumerate() {
            match column {
                Some(column) => {
                    row.text.insert(*column, field.to_owned());
                }
                None if headers.get(index).is_some_and(|h| h.trim().is_empty()) && !field.trim().is_empty() => {
                    errors.push(format!(
                        "Column {} has a value but no name in the first line. Name the column or clear it.",
                        index + 1
                    ));
                }
                None => {}
            }
        }
        let line = record.position().map_or(0, |pos| lines.line_of(pos));
        push_entry(&mut reports, &mut entries, line, row, errors);
    }
    finish(reports, entries, file_errors, "line")
}

/// Reads a JSON product feed: an array of objects, or `{"products": [...]}`,
/// with the CSV column names as fields. `price` may be a number or text,
/// `tags`/`image_urls` a list or text, and variants may be nested as a
/// `variants` list of `{size, colour, price_delta, stock}` objects (or given
/// as separate items with `variant_of`). Validation is the CSV's; a report's
/// `line` is the 1-based position in the list.
pub fn drafts_from_json(bytes: &[u8]) -> CsvPreview {
    if bytes.len() > MAX_IMPORT_BYTES {
        return CsvPreview::file_error(SniffError::TooLarge.to_string());
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(error) => return CsvPreview::file_error(format!("The product feed is not valid JSON: {error}.")),
    };
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut object) => match object.remove("products") {
            Some(Value::Array(items)) => items,
            _ => return CsvPreview::file_error(JSON_SHAPE.to_owned()),
        },
        _ => return CsvPreview::file_error(JSON_SHAPE.to_owned()),
    };
    let mut reports = Vec::new();
    let mut entries = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let line = index + 1;
        let Value::Object(object) = item else {
            reports.push(RowReport {
                line,
                sku: String::new(),
                errors: vec![format!("This item is not an object. {JSON_SHAPE}")],
            });
            continue;
        };
        let mut row = RawRow::default();
        let mut errors = Vec::new();
        let mut unknown = Vec::new();
        let mut nested = Vec::new();
        for (key, value) in object {
            if normalize_key(&key) == "variants" {
                match value {
                    Value::Array(variants) => nested = variants,
                    Value::Null => {}
                    _ => errors.push(format!("variants: {VARIANT_SHAPE}")),
                }
            } else if let Some(column) = Column::from_key(&key) {
                set_json_field(&mut row, column, value, "", &mut errors);
            } else {
                unknown.push(key);
            }
        }
        if !unknown.is_empty() {
            errors.push(format!(
                "Unknown fields: {}. The fields are {}, variants.",
                unknown.join(", "),
                Column::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
            ));
        }
        if !nested.is_empty() && row.has(Column::VariantOf) {
            errors.push("variants: A variant (it has variant_of) can't have variants of its own.".to_owned());
            nested.clear();
        }
        let parent = entries.len();
        let report = push_entry(&mut reports, &mut entries, line, row, errors);
        for (number, variant) in nested.into_iter().enumerate() {
            let prefix = format!("variant {}: ", number + 1);
            let mut errors = Vec::new();
            let mut row = RawRow::default();
            if let Value::Object(object) = variant {
                for (key, value) in object {
                    match Column::from_key(&key) {
                        Some(
                            column @ (Column::Sku | Column::Size | Column::Colour | Column::PriceDelta | Column::Stock),
                        ) => set_json_field(&mut row, column, value, &prefix, &mut errors),
                        _ => errors.push(format!("{prefix}Unknown field {key}. {VARIANT_SHAPE}")),
                    }
                }
            } else {
                // Nothing to validate; more errors about its missing size would be noise.
                reports[report].errors.push(format!("{prefix}{VARIANT_SHAPE}"));
                continue;
            }
            let blocked = !errors.is_empty();
            reports[report].errors.extend(errors);
            entries.push(Entry {
                report,
                prefix,
                row,
                link: Link::Nested(parent),
                blocked,
            });
        }
    }
    finish(reports, entries, Vec::new(), "item")
}

const JSON_SHAPE: &str = "The feed must be a list of products like [{\"sku\": \"SAREE-001\", \"name\": \"Saree\", \"price\": 2500}], \
     or an object with such a list under \"products\".";
const VARIANT_SHAPE: &str = "Variants must be a list of objects with size, colour, price_delta and stock.";

// ------------------------------------------------------------------ sniffing

/// [`sniff_csv`], returning the text without its BOM for parsing.
fn sniff_text(bytes: &[u8]) -> Result<&str, SniffError> {
    // File type first: "this is a PDF" helps more than "too large".
    if let Some(kind) = binary_kind(bytes) {
        return Err(SniffError::Binary(kind));
    }
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(SniffError::TooLarge);
    }
    // Excel's "Unicode text" is UTF-16; with or without a BOM it is not UTF-8.
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") || looks_like_utf16(bytes) {
        return Err(SniffError::NotUtf8);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| SniffError::NotUtf8)?;
    if let Some(at) = text.find(|c: char| c.is_control() && !matches!(c, '\t' | '\r' | '\n')) {
        return Err(SniffError::ControlCharacters {
            line: text[..at].matches('\n').count() + 1,
        });
    }
    let start = text.trim_start();
    if start.is_empty() {
        return Err(SniffError::Empty);
    }
    if start.starts_with('<') {
        return Err(SniffError::Html);
    }
    let headers = csv_reader(text).headers().cloned().unwrap_or_default();
    let present: Vec<Option<Column>> = headers.iter().map(Column::from_key).collect();
    let missing: Vec<&'static str> = [Column::Sku, Column::Name, Column::Price]
        .into_iter()
        .filter(|required| !present.contains(&Some(*required)))
        .map(Column::name)
        .collect();
    if !missing.is_empty() {
        let first_line = start.lines().next().unwrap_or_default().to_lowercase();
        if first_line.contains([';', '\t']) && ["sku", "name", "price"].iter().all(|c| first_line.contains(c)) {
            return Err(SniffError::WrongSeparator);
        }
        return Err(SniffError::MissingColumns { missing });
    }
    Ok(text)
}

/// Recognises common binary formats by their magic numbers, since owners
/// often rename `catalog.xlsx` to `catalog.csv`.
fn binary_kind(bytes: &[u8]) -> Option<FileKind> {
    let kind = if bytes.starts_with(b"%PDF") {
        FileKind::Pdf
    } else if bytes.starts_with(b"\x89PNG") {
        FileKind::Png
    } else if bytes.starts_with(b"\xFF\xD8\xFF") {
        FileKind::Jpeg
    } else if bytes.starts_with(b"GIF8") {
        FileKind::Gif
    } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        // Office files are ZIPs; their member names (stored uncompressed) say which.
        let head = &bytes[..bytes.len().min(MAX_IMPORT_BYTES)];
        if contains(head, b"xl/") {
            FileKind::Excel
        } else if contains(head, b"word/") {
            FileKind::Word
        } else if contains(head, b"opendocument") {
            FileKind::OpenDocument
        } else {
            FileKind::Zip
        }
    } else if bytes.starts_with(b"\x1F\x8B") {
        FileKind::Gzip
    } else if bytes.starts_with(b"\x7FELF") {
        FileKind::LinuxProgram
    } else if bytes.starts_with(b"MZ") && bytes[..bytes.len().min(64)].contains(&0) {
        // "MZ" alone could start a text cell; real executables have NULs right after.
        FileKind::WindowsProgram
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        FileKind::OldOffice
    } else {
        return None;
    };
    Some(kind)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// UTF-16 without a BOM: ASCII text with a NUL after (or before) every byte.
fn looks_like_utf16(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    head.len() >= 4 && head.iter().filter(|b| **b == 0).count() * 4 >= head.len()
}

fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes())
}

/// Finds the 1-based line a record starts on from its byte offset.
///
/// The reader's own `Position::line` is one short in CRLF files (what Excel
/// on Windows writes): a record's position is taken before the previous
/// line's `\n` is consumed. Records come in order, so counting newlines
/// forward from the last record keeps this linear.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            bytes: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    fn line_of(&mut self, position: &csv::Position) -> usize {
        let mut start = usize::try_from(position.byte())
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        // A record never starts with a line break (blank lines are skipped),
        // so any here belong to the line before.
        while matches!(self.bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start >= self.offset {
            self.line += self.bytes[self.offset..start].iter().filter(|b| **b == b'\n').count();
            self.offset = start;
        }
        self.line
    }
}

// ------------------------------------------------------------------- columns

/// The columns an import may have; anything else is reported, not ignored,
/// so a misspelt `prize` column doesn't silently import nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Sku,
    Name,
    NameBn,
    Description,
    Price,
    SalePrice,
    Stock,
    Tags,
    Active,
    ImageUrls,
    VariantOf,
    Size,
    Colour,
    PriceDelta,
}

impl Column {
    const ALL: [Column; 14] = [
        Column::Sku,
        Column::Name,
        Column::NameBn,
        Column::Description,
        Column::Price,
        Column::SalePrice,
        Column::Stock,
        Column::Tags,
        Column::Active,
        Column::ImageUrls,
        Column::VariantOf,
        Column::Size,
        Column::Colour,
        Column::PriceDelta,
    ];

    const fn name(self) -> &'static str {
        match self {
            Column::Sku => "sku",
            Column::Name => "name",
            Column::NameBn => "name_bn",
            Column::Description => "description",
            Column::Price => "price",
            Column::SalePrice => "sale_price",
            Column::Stock => "stock",
            Column::Tags => "tags",
            Column::Active => "active",
            Column::ImageUrls => "image_urls",
            Column::VariantOf => "variant_of",
            Column::Size => "size",
            Column::Colour => "colour",
            Column::PriceDelta => "price_delta",
        }
    }

    /// Matches a header or JSON key: case-insensitive, trimmed, and `Sale
    /// price` / `sale-price` mean `sale_price`, as spreadsheets get retyped.
    fn from_key(raw: &str) -> Option<Column> {
        let key = normalize_key(raw);
        if key == "color" {
            return Some(Column::Colour);
        }
        Column::ALL.into_iter().find(|column| column.name() == key)
    }
}

fn normalize_key(raw: &str) -> String {
    raw.trim().to_lowercase().replace([' ', '-'], "_")
}

fn column_error(column: Column, message: impl fmt::Display) -> String {
    format!("{}: {message}", column.name())
}

// ---------------------------------------------------------------- raw rows

/// One row's values as given, before validation; CSV and JSON both land here
/// so they share every rule.
#[derive(Debug, Default)]
struct RawRow {
    text: HashMap<Column, String>,
    /// JSON lists for `tags` / `image_urls`, kept apart so items are not re-split.
    lists: HashMap<Column, Vec<String>>,
}

impl RawRow {
    fn get(&self, column: Column) -> &str {
        self.text.get(&column).map_or("", |value| value.trim())
    }

    fn has(&self, column: Column) -> bool {
        !self.get(column).is_empty() || self.lists.get(&column).is_some_and(|items| !items.is_empty())
    }

    /// A list column's items, trimmed and non-empty, from a JSON list or
    /// split out of text.
    fn items(&self, column: Column, separator: fn(char) -> bool) -> Vec<String> {
        match self.lists.get(&column) {
            Some(items) => items
                .iter()
                .map(|item| item.trim())
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
            None => self
                .get(column)
                .split(separator)
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

fn set_json_field(row: &mut RawRow, column: Column, value: Value, prefix: &str, errors: &mut Vec<String>) {
    if row.text.contains_key(&column) || row.lists.contains_key(&column) {
        errors.push(format!(
            "{prefix}{}",
            column_error(column, "This field is given more than once.")
        ));
        return;
    }
    let text = match value {
        Value::Null => return,
        Value::String(text) => text,
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Array(items) if matches!(column, Column::Tags | Column::ImageUrls) => {
            let mut list = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(text) => list.push(text),
                    Value::Number(number) => list.push(number.to_string()),
                    _ => {
                        errors.push(format!(
                            "{prefix}{}",
                            column_error(column, "Each item in the list must be text.")
                        ));
                        return;
                    }
                }
            }
            row.lists.insert(column, list);
            return;
        }
        Value::Array(_) | Value::Object(_) => {
            errors.push(format!(
                "{prefix}{}",
                column_error(column, "Give this as text or a number.")
            ));
            return;
        }
    };
    row.text.insert(column, text);
}

/// How a row relates to the catalog.
#[derive(Debug)]
enum Link {
    Product,
    /// A flat variant row naming its product's SKU.
    VariantOf(String),
    /// A variant nested under the JSON item at this entry index.
    Nested(usize),
}

#[derive(Debug)]
struct Entry {
    /// Index into the reports; nested JSON variants share their item's report.
    report: usize,
    /// Put before each error, e.g. `variant 2: `.
    prefix: String,
    row: RawRow,
    link: Link,
    /// Reading the row already failed (unknown field, wrong type), so it must
    /// not become a draft even if the remaining values are fine.
    blocked: bool,
}

/// Adds a top-level row (CSV line or JSON item) and its report; returns the report index.
fn push_entry(
    reports: &mut Vec<RowReport>,
    entries: &mut Vec<Entry>,
    line: usize,
    row: RawRow,
    errors: Vec<String>,
) -> usize {
    let variant_of = row.get(Column::VariantOf).to_owned();
    let sku = match row.get(Column::Sku) {
        "" => variant_of.clone(),
        sku => sku.to_owned(),
    };
    let link = if variant_of.is_empty() {
        Link::Product
    } else {
        Link::VariantOf(variant_of)
    };
    let report = reports.len();
    let blocked = !errors.is_empty();
    reports.push(RowReport { line, sku, errors });
    entries.push(Entry {
        report,
        prefix: String::new(),
        row,
        link,
        blocked,
    });
    report
}

// ---------------------------------------------------------------- validation

fn finish(mut reports: Vec<RowReport>, entries: Vec<Entry>, mut file_errors: Vec<String>, unit: &str) -> CsvPreview {
    if reports.is_empty() && file_errors.is_empty() {
        file_errors.push(if unit == "line" {
            "The file has no products under the first line. Add one product per line.".to_owned()
        } else {
            "The feed has no products.".to_owned()
        });
    }
    let products = assemble(&mut reports, &entries, unit);
    CsvPreview {
        products,
        rows: reports,
        file_errors,
    }
}

/// Validates products first, then attaches variants, so a variant row may
/// come before or after its product.
fn assemble(reports: &mut [RowReport], entries: &[Entry], unit: &str) -> Vec<ProductDraft> {
    let mut products: Vec<ProductDraft> = Vec::new();
    let mut product_of_entry: Vec<Option<usize>> = vec![None; entries.len()];
    // Lower-cased SKU → (line of first occurrence, product index if it is valid).
    // Case-insensitive because owners and customers don't tell `abc-1` from `ABC-1`.
    let mut by_sku: HashMap<String, (usize, Option<usize>)> = HashMap::new();

    for (index, entry) in entries.iter().enumerate() {
        if !matches!(entry.link, Link::Product) {
            continue;
        }
        let mut errors = Vec::new();
        let draft = validate_product(&entry.row, &mut errors);
        let sku = entry.row.get(Column::Sku);
        let key = sku.to_ascii_lowercase();
        let first = by_sku.get(&key).map(|(line, _)| *line);
        if let Some(first_line) = first
            && !sku.is_empty()
        {
            errors.push(format!("SKU {sku} already appears on {unit} {first_line}."));
        }
        let product = match draft {
            Some(draft) if errors.is_empty() && !entry.blocked => {
                products.push(draft);
                Some(products.len() - 1)
            }
            _ => None,
        };
        product_of_entry[index] = product;
        if first.is_none() && !sku.is_empty() {
            by_sku.insert(key, (reports[entry.report].line, product));
        }
        add_errors(&mut reports[entry.report], &entry.prefix, errors);
    }

    // (product index, size, colour) lower-cased → line of the first such variant.
    let mut seen_variants: HashMap<(usize, String, String), usize> = HashMap::new();
    for entry in entries {
        let mut errors = Vec::new();
        let variant = validate_variant(&entry.row, &mut errors);
        let target = match &entry.link {
            Link::Product => continue,
            Link::Nested(parent) => product_of_entry[*parent],
            Link::VariantOf(parent_sku) => match by_sku.get(&parent_sku.to_ascii_lowercase()) {
                // A parent with its own errors is reported on its own line.
                Some((_, product)) => *product,
                None => {
                    errors.push(column_error(
                        Column::VariantOf,
                        format!(
                            "There is no product with SKU {parent_sku} in this file. \
                             Add the product on its own {unit} and put its SKU here."
                        ),
                    ));
                    None
                }
            },
        };
        if let (Some(product_index), Some(variant)) = (target, variant)
            && errors.is_empty()
            && !entry.blocked
        {
            let product = &mut products[product_index];
            let line = reports[entry.report].line;
            let key = (
                product_index,
                variant.size.to_lowercase(),
                variant.colour.to_lowercase(),
            );
            if let Some(first_line) = seen_variants.get(&key) {
                errors.push(format!(
                    "The variant {} is already listed for {} on {unit} {first_line}.",
                    describe_variant(&variant),
                    product.sku
                ));
            } else if let Some(message) = negative_variant_price(product, &variant) {
                errors.push(message);
            } else {
                seen_variants.insert(key, line);
                product.variants.push(variant);
            }
        }
        add_errors(&mut reports[entry.report], &entry.prefix, errors);
    }
    products
}

fn add_errors(report: &mut RowReport, prefix: &str, errors: Vec<String>) {
    report
        .errors
        .extend(errors.into_iter().map(|error| format!("{prefix}{error}")));
}

fn describe_variant(variant: &VariantDraft) -> String {
    match (variant.size.is_empty(), variant.colour.is_empty()) {
        (false, false) => format!("size {} / colour {}", variant.size, variant.colour),
        (false, true) => format!("size {}", variant.size),
        _ => format!("colour {}", variant.colour),
    }
}

/// A discount variant must not take the price (or sale price) below zero.
fn negative_variant_price(product: &ProductDraft, variant: &VariantDraft) -> Option<String> {
    let below_zero = |base: Money| {
        base.checked_add(variant.price_delta)
            .is_none_or(|total| total < Money::ZERO)
    };
    let (which, base) = if below_zero(product.price) {
        ("price", product.price)
    } else {
        ("sale price", product.sale_price.filter(|sale| below_zero(*sale))?)
    };
    Some(column_error(
        Column::PriceDelta,
        format!(
            "{} would take the {which} {} below zero.",
            money::format_plain(variant.price_delta),
            money::format_plain(base)
        ),
    ))
}

fn validate_product(row: &RawRow, errors: &mut Vec<String>) -> Option<ProductDraft> {
    let sku = row.get(Column::Sku);
    if let Err(message) = check_sku(sku) {
        errors.push(column_error(Column::Sku, message));
    }
    let name = checked_text(row, Column::Name, MAX_NAME_CHARS, false, errors);
    if name.is_empty() {
        errors.push(column_error(Column::Name, "Every product needs a name."));
    }
    let name_bn = checked_text(row, Column::NameBn, MAX_NAME_CHARS, false, errors);
    let description = checked_text(row, Column::Description, MAX_DESCRIPTION_CHARS, true, errors);
    let price = match row.get(Column::Price) {
        "" => {
            errors.push(column_error(
                Column::Price,
                "Every product needs a price, like 1250 or 1,250.50.",
            ));
            None
        }
        raw => money::parse_money(raw)
            .map_err(|e| errors.push(column_error(Column::Price, e)))
            .ok(),
    };
    let sale_price = match row.get(Column::SalePrice) {
        "" => None,
        raw => money::parse_money(raw)
            .map_err(|e| errors.push(column_error(Column::SalePrice, e)))
            .ok(),
    };
    if let (Some(price), Some(sale)) = (price, sale_price)
        && sale >= price
    {
        errors.push(column_error(
            Column::SalePrice,
            format!(
                "The sale price ({}) must be lower than the price ({}).",
                money::format_plain(sale),
                money::format_plain(price)
            ),
        ));
    }
    let stock = parse_stock(row.get(Column::Stock))
        .map_err(|e| errors.push(column_error(Column::Stock, e)))
        .ok();
    let tags = parse_tags(row, errors);
    let active = parse_active(row.get(Column::Active))
        .map_err(|e| errors.push(column_error(Column::Active, e)))
        .ok();
    let image_urls = parse_image_urls(row, errors);
    let variant_only: Vec<&str> = [Column::Size, Column::Colour, Column::PriceDelta]
        .into_iter()
        .filter(|column| row.has(*column))
        .map(Column::name)
        .collect();
    if !variant_only.is_empty() {
        errors.push(format!(
            "{}: Only variant rows have these. For a variant, use a new row with the product's SKU in variant_of.",
            variant_only.join(", ")
        ));
    }
    match (price, stock, active) {
        (Some(price), Some(stock), Some(active)) if errors.is_empty() => Some(ProductDraft {
            sku: sku.to_owned(),
            name,
            name_bn: (!name_bn.is_empty()).then_some(name_bn),
            description,
            price,
            sale_price,
            stock,
            tags,
            active,
            image_urls,
            variants: Vec::new(),
        }),
        _ => None,
    }
}

/// A variant row's own fields; its name, price and the like are ignored
/// because they belong to the product.
fn validate_variant(row: &RawRow, errors: &mut Vec<String>) -> Option<VariantDraft> {
    let start = errors.len();
    let size = checked_text(row, Column::Size, MAX_VARIANT_LABEL_CHARS, false, errors);
    let colour = checked_text(row, Column::Colour, MAX_VARIANT_LABEL_CHARS, false, errors);
    if size.is_empty() && colour.is_empty() {
        errors.push(column_error(Column::Size, "A variant needs a size, a colour, or both."));
    }
    let price_delta = match row.get(Column::PriceDelta) {
        "" => Some(Money::ZERO),
        raw => money::parse_signed_money(raw)
            .map_err(|e| errors.push(column_error(Column::PriceDelta, e)))
            .ok(),
    };
    let stock = parse_stock(row.get(Column::Stock))
        .map_err(|e| errors.push(column_error(Column::Stock, e)))
        .ok();
    match (price_delta, stock) {
        (Some(price_delta), Some(stock)) if errors.len() == start => Some(VariantDraft {
            size,
            colour,
            price_delta,
            stock,
        }),
        _ => None,
    }
}

/// Matches the `products.sku` check: `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`.
fn check_sku(sku: &str) -> Result<(), &'static str> {
    if sku.is_empty() {
        return Err("Every product needs a SKU, your own short code for it, like SAREE-001.");
    }
    let starts_well = sku.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let chars_ok = sku
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !starts_well || !chars_ok || sku.len() > MAX_SKU_CHARS {
        return Err(
            "Use up to 64 English letters, digits, dots, dashes or underscores, starting with a letter or \
                    digit, like SAREE-001.",
        );
    }
    Ok(())
}

/// Trimmed text within a length limit; only descriptions may span lines,
/// because names and labels are quoted inline in replies.
fn checked_text(row: &RawRow, column: Column, max_chars: usize, multiline: bool, errors: &mut Vec<String>) -> String {
    let value = row.get(column);
    let count = value.chars().count();
    if count > max_chars {
        errors.push(column_error(
            column,
            format!("Use at most {max_chars} characters (this has {count})."),
        ));
    }
    if multiline {
        // JSON can smuggle control characters past the CSV sniffing as escapes.
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            errors.push(column_error(column, "Remove the hidden control characters."));
        }
    } else if value.chars().any(char::is_control) {
        errors.push(column_error(
            column,
            "Keep this on one line, without tabs or line breaks.",
        ));
    }
    value.to_owned()
}

/// Empty or "made to order" (`made-to-order`, `MTO`) → made to order; else a
/// whole number 0..=1,000,000, in ASCII or Bangla digits, commas allowed.
fn parse_stock(raw: &str) -> Result<Stock, String> {
    let words = raw.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    if matches!(words.as_str(), "" | "made to order" | "made-to-order" | "mto") {
        return Ok(Stock::MadeToOrder);
    }
    let invalid = || "Enter how many are in stock (0 or more), or \"made to order\".".to_owned();
    let mut count: i64 = 0;
    let mut saw_digit = false;
    for c in words.chars() {
        if c == ',' {
            continue;
        }
        let digit = digit_value(c).ok_or_else(invalid)?;
        saw_digit = true;
        count = count * 10 + i64::from(digit);
        if count > MAX_STOCK {
            return Err("The most stock allowed is 1,000,000.".to_owned());
        }
    }
    if !saw_digit {
        return Err(invalid());
    }
    i32::try_from(count).map(Stock::Quantity).map_err(|_| invalid())
}

fn parse_active(raw: &str) -> Result<bool, &'static str> {
    match raw.trim().to_lowercase().as_str() {
        "" | "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err("Write yes or no (empty means yes)."),
    }
}

/// `;`-separated, trimmed, de-duplicated ignoring case.
fn parse_tags(row: &RawRow, errors: &mut Vec<String>) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in row.items(Column::Tags, |c| c == ';') {
        let count = tag.chars().count();
        if count > MAX_TAG_CHARS {
            errors.push(column_error(
                Column::Tags,
                format!(
                    "Keep each tag to {MAX_TAG_CHARS} characters; \"{}…\" has {count}.",
                    shorten(&tag)
                ),
            ));
        } else if tag.chars().any(char::is_control) {
            errors.push(column_error(Column::Tags, "Keep each tag on one line."));
        } else if !tags.iter().any(|seen| seen.to_lowercase() == tag.to_lowercase()) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        errors.push(column_error(
            Column::Tags,
            format!("Use at most {MAX_TAGS} tags (this has {}).", tags.len()),
        ));
    }
    tags
}

/// Space- or `;`-separated links; https only, because the shop pages and
/// chat previews load them and mixed content is blocked.
fn parse_image_urls(row: &RawRow, errors: &mut Vec<String>) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for url in row.items(Column::ImageUrls, |c| c.is_whitespace() || c == ';') {
        let host_start = url
            .get(..8)
            .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
            .map(|_| &url[8..]);
        let has_host = host_start.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !has_host || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errors.push(column_error(
                Column::ImageUrls,
                format!(
                    "Each image link must start with https://, like https://example.com/saree.jpg (not \"{}\").",
                    shorten(&url)
                ),
            ));
        } else if url.chars().count() > MAX_IMAGE_URL_CHARS {
            errors.push(column_error(
                Column::ImageUrls,
                format!("Each image link must be at most {MAX_IMAGE_URL_CHARS} characters."),
            ));
        } else if !urls.contains(&url) {
            urls.push(url);
        }
    }
    if urls.len() > MAX_IMAGES {
        errors.push(column_error(
            Column::ImageUrls,
            format!("Use at most {MAX_IMAGES} image links (this has {}).", urls.len()),
        ));
    }
    urls
}

/// The first 60 characters, so an error quoting a value stays readable.
fn shorten(value: &str) -> String {
    value.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "sku,name,price";

    fn csv(lines: &[&str]) -> CsvPreview {
        parse_csv(lines.join("\n").as_bytes())
    }

    fn errors_of(preview: &CsvPreview) -> Vec<(usize, Vec<String>)> {
        preview
            .rows
            .iter()
            .filter(|r| !r.errors.is_empty())
            .map(|r| (r.line, r.errors.clone()))
            .collect()
    }

    /// Parses a one-product file with `column` set to `value`, returning the
    /// draft or the row's errors.
    fn one(column: &str, value: &str) -> Result<ProductDraft, Vec<String>> {
        let preview = csv(&[
            &format!("sku,name,price,{column}"),
            &format!("P-1,Thing,100,\"{value}\""),
        ]);
        assert!(preview.file_errors.is_empty(), "{:?}", preview.file_errors);
        if preview.is_valid() {
            Ok(preview.products[0].clone())
        } else {
            Err(preview.rows[0].errors.clone())
        }
    }

    fn assert_rejected(column: &str, value: &str, needle: &str) {
        match one(column, value) {
            Ok(draft) => panic!("{column}={value:?} was accepted: {draft:?}"),
            Err(errors) => assert!(
                errors.iter().any(|e| e.contains(needle)),
                "{column}={value:?}: expected {needle:?} in {errors:?}"
            ),
        }
    }

    #[test]
    fn template_parses_valid_with_bangla_intact() {
        let preview = parse_csv(TEMPLATE_CSV.as_bytes());
        assert!(preview.is_valid(), "{preview:#?}");
        assert_eq!(preview.rows.len(), 3);
        assert_eq!(preview.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(preview.products.len(), 2);

        let saree = &preview.products[0];
        assert_eq!(saree.sku, "SAREE-001");
        assert_eq!(saree.name, "Tangail cotton saree");
        let name_bn = saree.name_bn.as_deref().unwrap();
        assert_eq!(name_bn, "টাঙ্গাইল সুতি শাড়ি");
        assert_eq!(name_bn.as_bytes(), "টাঙ্গাইল সুতি শাড়ি".as_bytes());
        assert_eq!(
            saree.description,
            "Handwoven cotton saree from Tangail, 6 yards, with blouse piece."
        );
        assert_eq!(saree.price, Money::from_minor(250_000));
        assert_eq!(saree.sale_price, Some(Money::from_minor(220_000)));
        assert_eq!(saree.stock, Stock::Quantity(12));
        assert_eq!(saree.tags, ["saree", "cotton", "tangail"]);
        assert!(saree.active);
        assert_eq!(saree.image_urls, ["https://example.com/images/saree-001.jpg"]);
        assert_eq!(
            saree.variants,
            [VariantDraft {
                size: "Free".into(),
                colour: "Red".into(),
                price_delta: Money::ZERO,
                stock: Stock::Quantity(5)
            }]
        );

        let cake = &preview.products[1];
        assert_eq!(cake.stock, Stock::MadeToOrder);
        assert_eq!(cake.name_bn.as_deref(), Some("কাস্টম জন্মদিনের কেক"));
        assert_eq!(cake.sale_price, None);
        assert!(cake.variants.is_empty());
        assert_eq!(preview.rows[2].sku, "SAREE-001");
        assert_eq!(sniff_csv(TEMPLATE_CSV.as_bytes()), Ok(()));
    }

    #[test]
    fn one_bad_row_fails_the_file_with_its_line() {
        let preview = csv(&[HEADER, "A-1,First,100", "A-2,Second,abc", "A-3,Third,300", "A-4,,400"]);
        assert!(!preview.is_valid());
        assert_eq!(preview.rows.len(), 4);
        let bad = errors_of(&preview);
        assert_eq!(bad.len(), 2);
        assert_eq!(bad[0].0, 3);
        assert!(
            bad[0].1[0].starts_with("price: Enter a price like 1250"),
            "{:?}",
            bad[0].1
        );
        assert_eq!(bad[1].0, 5);
        assert_eq!(bad[1].1, ["name: Every product needs a name."]);
        assert_eq!(preview.rows[1].sku, "A-2");
        // Fine rows still preview, but the file as a whole is not saved.
        assert_eq!(
            preview.products.iter().map(|p| p.sku.as_str()).collect::<Vec<_>>(),
            ["A-1", "A-3"]
        );
    }

    #[test]
    fn sku_column() {
        assert_eq!(one("tags", "").unwrap().sku, "P-1");
        for good in ["a", "A1", "x.y_z-1", "9"] {
            let preview = csv(&[HEADER, &format!("{good},Thing,1")]);
            assert!(preview.is_valid(), "{good}: {:?}", preview.rows);
        }
        let longest = "A".repeat(64);
        assert!(csv(&[HEADER, &format!("{longest},Thing,1")]).is_valid());
        let too_long = "A".repeat(65);
        for bad in ["-A", ".a", "_a", "A B", "শাড়ি", "A/1", "A#1", too_long.as_str()] {
            let preview = csv(&[HEADER, &format!("\"{bad}\",Thing,1")]);
            assert!(!preview.is_valid(), "{bad}");
            assert!(
                preview.rows[0].errors[0].starts_with("sku: Use up to 64"),
                "{:?}",
                preview.rows
            );
        }
        let preview = csv(&[HEADER, ",Thing,1"]);
        assert!(preview.rows[0].errors[0].starts_with("sku: Every product needs a SKU"));
    }

    #[test]
    fn text_columns() {
        let draft = one("name_bn", "  শাড়ি  ").unwrap();
        assert_eq!(draft.name_bn.as_deref(), Some("শাড়ি"));
        assert_eq!(one("name_bn", "").unwrap().name_bn, None);
        assert_rejected(
            "name_bn",
            &"শ".repeat(201),
            "name_bn: Use at most 200 characters (this has 201)",
        );

        let preview = csv(&["sku,name,price", &format!("P-1,{},1", "n".repeat(200))]);
        assert!(preview.is_valid());
        let preview = csv(&["sku,name,price", &format!("P-1,{},1", "n".repeat(201))]);
        assert_eq!(
            preview.rows[0].errors,
            ["name: Use at most 200 characters (this has 201)."]
        );
        let preview = csv(&["sku,name,price", "P-1,\"two\nlines\",1"]);
        assert_eq!(
            preview.rows[0].errors,
            ["name: Keep this on one line, without tabs or line breaks."]
        );

        assert_eq!(
            one("description", "Line one\nline two").unwrap().description,
            "Line one\nline two"
        );
        assert_eq!(one("description", &"d".repeat(5000)).unwrap().description.len(), 5000);
        assert_rejected(
            "description",
            &"d".repeat(5001),
            "description: Use at most 5000 characters",
        );
    }

    #[test]
    fn price_columns() {
        assert_eq!(one("sale_price", "").unwrap().price, Money::from_minor(10_000));
        let preview = csv(&[HEADER, "P-1,Thing,\"৳1,250.50\"", "P-2,Thing,১২৫০ টাকা", "P-3,Thing,0"]);
        assert!(preview.is_valid(), "{:?}", preview.rows);
        let prices: Vec<i64> = preview.products.iter().map(|p| p.price.minor()).collect();
        assert_eq!(prices, [125_050, 125_000, 0]);
        for (bad, needle) in [
            ("", "price: Every product needs a price"),
            ("-5", "price: A price can't be negative"),
            ("12.345", "price: Use at most 2 digits"),
            ("1.2.3", "price: Enter a price like"),
            ("100000000.01", "price: That amount is too large"),
        ] {
            let preview = csv(&[HEADER, &format!("P-1,Thing,{bad}")]);
            assert!(
                preview.rows[0].errors[0].starts_with(needle),
                "{bad}: {:?}",
                preview.rows[0].errors
            );
        }

        assert_eq!(
            one("sale_price", "99.99").unwrap().sale_price,
            Some(Money::from_minor(9_999))
        );
        assert_eq!(one("sale_price", "0").unwrap().sale_price, Some(Money::ZERO));
        assert_rejected(
            "sale_price",
            "100",
            "sale_price: The sale price (100) must be lower than the price (100).",
        );
        assert_rejected("sale_price", "150.50", "must be lower than the price");
        assert_rejected("sale_price", "cheap", "sale_price: Enter a price like");
    }

    #[test]
    fn stock_column() {
        for (raw, stock) in [
            ("", Stock::MadeToOrder),
            ("made to order", Stock::MadeToOrder),
            ("Made  To Order", Stock::MadeToOrder),
            ("made-to-order", Stock::MadeToOrder),
            ("MTO", Stock::MadeToOrder),
            ("0", Stock::Quantity(0)),
            ("12", Stock::Quantity(12)),
            ("1,000", Stock::Quantity(1000)),
            ("১২", Stock::Quantity(12)),
            ("1000000", Stock::Quantity(1_000_000)),
        ] {
            assert_eq!(one("stock", raw).unwrap().stock, stock, "{raw:?}");
        }
        assert_rejected("stock", "1000001", "stock: The most stock allowed is 1,000,000.");
        assert_rejected("stock", "99999999999999999999999", "stock: The most stock allowed");
        for bad in ["-1", "2.5", "lots", "10 pcs", ","] {
            assert_rejected("stock", bad, "stock: Enter how many are in stock");
        }
    }

    #[test]
    fn tags_column() {
        assert_eq!(
            one("tags", " saree ; Cotton;;saree;COTTON; red ").unwrap().tags,
            ["saree", "Cotton", "red"]
        );
        assert_eq!(one("tags", "").unwrap().tags, Vec::<String>::new());
        assert_eq!(one("tags", "শাড়ি;উপহার").unwrap().tags, ["শাড়ি", "উপহার"]);
        let forty = "t".repeat(40);
        assert_eq!(one("tags", &forty).unwrap().tags, [forty]);
        assert_rejected("tags", &"t".repeat(41), "tags: Keep each tag to 40 characters");
        let twenty: Vec<String> = (0..20).map(|i| format!("tag{i}")).collect();
        assert_eq!(one("tags", &twenty.join(";")).unwrap().tags.len(), 20);
        let twenty_one: Vec<String> = (0..21).map(|i| format!("tag{i}")).collect();
        assert_rejected(
            "tags",
            &twenty_one.join(";"),
            "tags: Use at most 20 tags (this has 21).",
        );
    }

    #[test]
    fn active_column() {
        for yes in ["", "yes", "Y", "TRUE", "1", " y "] {
            assert!(one("active", yes).unwrap().active, "{yes:?}");
        }
        for no in ["no", "N", "false", "0"] {
            assert!(!one("active", no).unwrap().active, "{no:?}");
        }
        assert_rejected("active", "maybe", "active: Write yes or no");
    }

    #[test]
    fn image_urls_column() {
        let draft = one(
            "image_urls",
            "https://a.example/1.jpg https://a.example/2.jpg;https://a.example/3.jpg\nHTTPS://A.example/4.jpg",
        )
        .unwrap();
        assert_eq!(draft.image_urls.len(), 4);
        assert_eq!(draft.image_urls[0], "https://a.example/1.jpg");
        assert_eq!(
            one("image_urls", "https://a.example/1.jpg;https://a.example/1.jpg")
                .unwrap()
                .image_urls
                .len(),
            1
        );
        for bad in [
            "http://a.example/1.jpg",
            "ftp://x",
            "https://",
            "https:///path",
            "www.example.com/a.jpg",
            "javascript:alert(1)",
        ] {
            assert_rejected(
                "image_urls",
                bad,
                "image_urls: Each image link must start with https://",
            );
        }
        let long = format!("https://a.example/{}", "x".repeat(2000 - 18));
        assert_eq!(long.len(), 2000);
        assert_eq!(
            one("image_urls", &long).unwrap().image_urls,
            std::slice::from_ref(&long)
        );
        assert_rejected(
            "image_urls",
            &format!("{long}x"),
            "image_urls: Each image link must be at most 2000 characters.",
        );
        let ten: Vec<String> = (0..10).map(|i| format!("https://a.example/{i}.jpg")).collect();
        assert_eq!(one("image_urls", &ten.join(" ")).unwrap().image_urls.len(), 10);
        let eleven: Vec<String> = (0..11).map(|i| format!("https://a.example/{i}.jpg")).collect();
        assert_rejected(
            "image_urls",
            &eleven.join(" "),
            "image_urls: Use at most 10 image links (this has 11).",
        );
    }

    #[test]
    fn headers_are_case_insensitive_in_any_order() {
        let preview = csv(&[" Price ,NAME,Sale Price,SKU,name-bn,Color", "100,Thing,90,P-1,জিনিস,"]);
        assert!(preview.is_valid(), "{preview:?}");
        assert_eq!(preview.products[0].sale_price, Some(Money::from_minor(9_000)));
        assert_eq!(preview.products[0].name_bn.as_deref(), Some("জিনিস"));
    }

    #[test]
    fn unknown_and_duplicate_columns() {
        let preview = csv(&["sku,name,price,prize,Weight", "P-1,Thing,100,5,1kg"]);
        assert!(!preview.is_valid());
        assert_eq!(preview.file_errors.len(), 1);
        assert!(
            preview.file_errors[0].starts_with("Unknown columns: prize, Weight."),
            "{:?}",
            preview.file_errors
        );
        // The rows are still checked so all problems show at once.
        assert_eq!(preview.rows.len(), 1);

        let preview = csv(&["sku,name,price,colour,color", "P-1,Thing,100,,"]);
        assert_eq!(
            preview.file_errors,
            ["The column colour appears more than once in the first line. Keep only one."]
        );
        assert!(!preview.is_valid());
    }

    #[test]
    fn unnamed_trailing_columns_from_spreadsheets() {
        let preview = csv(&["sku,name,price,,", "P-1,Thing,100,,"]);
        assert!(preview.is_valid(), "{preview:?}");
        let preview = csv(&["sku,name,price,,", "P-1,Thing,100,,oops"]);
        assert_eq!(
            preview.rows[0].errors,
            ["Column 5 has a value but no name in the first line. Name the column or clear it."]
        );
    }

    #[test]
    fn blank_rows_are_skipped_and_header_only_is_invalid() {
        let preview = csv(&[HEADER, ",,", "P-1,Thing,1", "", ",,"]);
        assert!(preview.is_valid());
        assert_eq!(preview.rows.len(), 1);
        assert_eq!(preview.rows[0].line, 3);

        let preview = csv(&[HEADER]);
        assert!(!preview.is_valid());
        assert_eq!(
            preview.file_errors,
            ["The file has no products under the first line. Add one product per line."]
        );
    }

    #[test]
    fn wrong_field_count_is_an_error_on_its_line() {
        let preview = csv(&[HEADER, "P-1,Thing,100", "P-2,Cloth, red,200", "P-3,Other,300"]);
        assert!(!preview.is_valid());
        assert_eq!(preview.rows.len(), 3);
        let bad = errors_of(&preview);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 3);
        assert!(bad[0].1[0].starts_with("This line has 4 values but the first line has 3 columns."));
        assert_eq!(preview.products.len(), 2);
    }

    #[test]
    fn quoted_fields_with_commas_and_newlines() {
        let preview = parse_csv(
            b"sku,name,description,price\r\n\
              P-1,\"Saree, red\",\"Soft cotton.\r\nWash cold, dry in shade.\nSays \"\"hello\"\"\",\"1,250\"\r\n\
              P-2,Plain,,99\r\n",
        );
        assert!(preview.is_valid(), "{preview:?}");
        let first = &preview.products[0];
        assert_eq!(first.name, "Saree, red");
        assert_eq!(
            first.description,
            "Soft cotton.\r\nWash cold, dry in shade.\nSays \"hello\""
        );
        assert_eq!(first.price, Money::from_minor(125_000));
        // Line numbers count the physical lines the quoted newlines take.
        assert_eq!(preview.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 5]);

        let preview = parse_csv(b"sku,name,description,price\nP-1,A,\"x\ny\",1\nP-2,B,,oops\n");
        assert_eq!(errors_of(&preview)[0].0, 4);
    }

    #[test]
    fn crlf_files_report_the_right_lines() {
        // Excel on Windows writes CRLF; the csv reader's own line count is off by one there.
        let crlf = TEMPLATE_CSV.replace('\n', "\r\n");
        let preview = parse_csv(crlf.as_bytes());
        assert!(preview.is_valid(), "{preview:?}");
        assert_eq!(preview.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(preview.products[0].name_bn.as_deref(), Some("টাঙ্গাইল সুতি শাড়ি"));

        let preview = parse_csv(b"sku,name,price\r\n\r\nP-1,A,1\r\nP-2,B\r\nP-3,\"C\r\nD\",x\r\nP-4,E,4\r\n");
        assert_eq!(preview.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [3, 4, 5, 7]);
        let bad = errors_of(&preview);
        assert_eq!(bad.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [4, 5]);
        assert!(bad[0].1[0].starts_with("This line has 2 values"));
    }

    #[test]
    fn many_rows_parse_in_one_pass() {
        let mut file = String::from("sku,name,price,stock\n");
        for i in 0..20_000 {
            file.push_str(&format!("SKU-{i},Item {i},{i}.50,{i}\n"));
        }
        let preview = parse_csv(file.as_bytes());
        assert!(preview.is_valid());
        assert_eq!(preview.products.len(), 20_000);
        assert_eq!(preview.rows[19_999].line, 20_001);
        assert_eq!(preview.products[19_999].price, Money::from_minor(1_999_950));
    }

    #[test]
    fn variants_link_to_their_product() {
        let preview = csv(&[
            "sku,name,price,sale_price,variant_of,size,colour,price_delta,stock",
            ",,,,SHIRT-1,M,Blue,,3",
            "SHIRT-1,Shirt,500,450,,,,,10",
            "ignored-own-sku,Ignored name,999,,shirt-1,L,Blue,+50,",
            ",,,,SHIRT-1,XL,,-৳100,0",
            ",,,,SHIRT-1,,Green,১০,MTO",
        ]);
        assert!(preview.is_valid(), "{preview:#?}");
        let shirt = &preview.products[0];
        assert_eq!(shirt.variants.len(), 4);
        assert_eq!(
            shirt.variants[0],
            VariantDraft {
                size: "M".into(),
                colour: "Blue".into(),
                price_delta: Money::ZERO,
                stock: Stock::Quantity(3)
            }
        );
        assert_eq!(shirt.variants[1].price_delta, Money::from_minor(5_000));
        assert_eq!(shirt.variants[1].stock, Stock::MadeToOrder);
        assert_eq!(shirt.variants[2].price_delta, Money::from_minor(-10_000));
        assert_eq!(shirt.variants[2].colour, "");
        assert_eq!(shirt.variants[3].price_delta, Money::from_minor(1_000));
        assert_eq!(preview.rows[0].sku, "SHIRT-1");
        assert_eq!(preview.rows[2].sku, "ignored-own-sku");
    }

    #[test]
    fn variant_errors() {
        let preview = csv(&[
            "sku,name,price,sale_price,variant_of,size,colour,price_delta",
            "SHIRT-1,Shirt,500,450,,,,",
            ",,,,NOPE-9,M,Blue,",
            ",,,,SHIRT-1,,,10",
            ",,,,SHIRT-1,M,Blue,",
            ",,,,SHIRT-1,m,BLUE,5",
            ",,,,SHIRT-1,S,,-501",
            ",,,,SHIRT-1,XS,,-451",
            ",,,,SHIRT-1,XXL,,abc",
            "PANT-1,Pant,300,,,M,,",
            "PANT-2,Pant,300,,,,,20",
        ]);
        assert!(!preview.is_valid());
        let bad = errors_of(&preview);
        let lines: Vec<usize> = bad.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [3, 4, 6, 7, 8, 9, 10, 11]);
        assert!(bad[0].1[0].starts_with("variant_of: There is no product with SKU NOPE-9 in this file."));
        assert_eq!(bad[1].1, ["size: A variant needs a size, a colour, or both."]);
        assert_eq!(
            bad[2].1,
            ["The variant size m / colour BLUE is already listed for SHIRT-1 on line 5."]
        );
        assert_eq!(bad[3].1, ["price_delta: -501 would take the price 500 below zero."]);
        assert_eq!(
            bad[4].1,
            ["price_delta: -451 would take the sale price 450 below zero."]
        );
        assert!(bad[5].1[0].starts_with("price_delta: Enter a price like"));
        assert!(bad[6].1[0].starts_with("size: Only variant rows have these."));
        assert!(bad[7].1[0].starts_with("price_delta: Only variant rows have these."));
        assert_eq!(preview.products[0].variants.len(), 1);
        // Products with errors are not in the preview.
        assert_eq!(preview.products.len(), 1);

        let preview = csv(&["sku,name,price,variant_of,size", ",,,SHIRT-1,S", "SHIRT-1,Shirt,-5,,"]);
        // The parent's own error is reported once, on its line.
        assert_eq!(errors_of(&preview).iter().map(|(l, _)| *l).collect::<Vec<_>>(), [3]);
        let preview = csv(&[
            "sku,name,price,variant_of,size",
            "SHIRT-1,Shirt,1,,",
            &format!(",,,SHIRT-1,{}", "S".repeat(51)),
        ]);
        assert_eq!(
            preview.rows[1].errors,
            ["size: Use at most 50 characters (this has 51)."]
        );
    }

    #[test]
    fn duplicate_sku_is_an_error_on_the_second_occurrence() {
        let preview = csv(&[
            HEADER,
            "X-0,Zero,1",
            "ABC-1,First,100",
            "ABC-1,Second,200",
            "abc-1,Third,300",
        ]);
        assert!(!preview.is_valid());
        let bad = errors_of(&preview);
        assert_eq!(
            bad,
            [
                (4, vec!["SKU ABC-1 already appears on line 3.".to_owned()]),
                (5, vec!["SKU abc-1 already appears on line 3.".to_owned()]),
            ]
        );
        assert_eq!(
            preview.products.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["Zero", "First"]
        );
    }

    #[test]
    fn renamed_binaries_are_refused_by_type() {
        let mut xlsx = b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml".to_vec();
        xlsx.extend_from_slice(b"\x00\x00junk\x00xl/workbook.xml\x00\x00");
        let mut elf = b"\x7FELF\x02\x01\x01\x00".to_vec();
        elf.extend_from_slice(&[0; 56]);
        let mut exe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
        exe.extend_from_slice(&[0; 56]);
        let cases: Vec<(Vec<u8>, FileKind, &str)> = vec![
            (
                b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec(),
                FileKind::Png,
                "This looks like a PNG image.",
            ),
            (
                b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(),
                FileKind::Pdf,
                "This looks like a PDF document.",
            ),
            (
                xlsx,
                FileKind::Excel,
                "This looks like an Excel file. Save it as CSV (UTF-8) and upload that.",
            ),
            (
                b"PK\x03\x04\x14\x00word/document.xml".to_vec(),
                FileKind::Word,
                "a Word document",
            ),
            (b"PK\x03\x04\x14\x00other.txt".to_vec(), FileKind::Zip, "a ZIP archive"),
            (elf, FileKind::LinuxProgram, "This looks like a program"),
            (exe, FileKind::WindowsProgram, "a Windows program"),
            (b"\xFF\xD8\xFF\xE0\x00\x10JFIF".to_vec(), FileKind::Jpeg, "a JPEG photo"),
            (b"GIF89a\x01\x00".to_vec(), FileKind::Gif, "a GIF image"),
            (b"\x1F\x8B\x08\x00".to_vec(), FileKind::Gzip, "gzip"),
            (
                b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec(),
                FileKind::OldOffice,
                "old-style Excel (.xls)",
            ),
        ];
        for (bytes, kind, needle) in cases {
            assert_eq!(sniff_csv(&bytes), Err(SniffError::Binary(kind)), "{needle}");
            let preview = parse_csv(&bytes);
            assert!(!preview.is_valid());
            assert_eq!(preview.file_errors.len(), 1);
            assert!(preview.file_errors[0].contains(needle), "{:?}", preview.file_errors);
            assert!(preview.file_errors[0].ends_with("Save it as CSV (UTF-8) and upload that."));
        }
        // "MZ" starting a text file is not an executable.
        assert_eq!(sniff_csv(b"MZ,sku,name,price\n"), Ok(()));
    }

    #[test]
    fn encoding_and_text_checks() {
        // Windows-1252 "café" is not UTF-8.
        let latin1 = b"sku,name,price\nP-1,caf\xE9,100\n";
        assert_eq!(sniff_csv(latin1), Err(SniffError::NotUtf8));
        assert_eq!(
            parse_csv(latin1).file_errors,
            ["Save the file as CSV UTF-8 so Bangla text is kept."]
        );
        let utf16: Vec<u8> = "\u{FEFF}sku,name,price\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(sniff_csv(&utf16), Err(SniffError::NotUtf8));
        let utf16_no_bom: Vec<u8> = "sku,name,price\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(sniff_csv(&utf16_no_bom), Err(SniffError::NotUtf8));

        let with_bom = [b"\xEF\xBB\xBF".as_slice(), "sku,name,price\nP-1,শাড়ি,100\n".as_bytes()].concat();
        assert_eq!(sniff_csv(&with_bom), Ok(()));
        let preview = parse_csv(&with_bom);
        assert!(preview.is_valid(), "{preview:?}");
        assert_eq!(preview.products[0].sku, "P-1");
        assert_eq!(preview.products[0].name, "শাড়ি");

        assert_eq!(
            sniff_csv(b"sku,name,price\nP-1,a\x00b,1\n"),
            Err(SniffError::ControlCharacters { line: 2 })
        );
        assert_eq!(
            sniff_csv(b"sku,name,price\nP-1,a\x1bb,1\n"),
            Err(SniffError::ControlCharacters { line: 2 })
        );
        assert_eq!(sniff_csv(b"sku,name,price\nP-1,a\tb,1\r\n"), Ok(()));
        assert_eq!(sniff_csv(b"  \n<!DOCTYPE html><html>"), Err(SniffError::Html));
        assert_eq!(
            sniff_csv(b"<table><tr><td>sku</td></tr></table>"),
            Err(SniffError::Html)
        );
        assert_eq!(sniff_csv(b""), Err(SniffError::Empty));
        assert_eq!(sniff_csv(b"\xEF\xBB\xBF \r\n"), Err(SniffError::Empty));
        assert_eq!(
            sniff_csv(b"sku,title,cost\n"),
            Err(SniffError::MissingColumns {
                missing: vec!["name", "price"]
            })
        );
        assert_eq!(
            SniffError::MissingColumns {
                missing: vec!["name", "price"]
            }
            .to_string(),
            "The first line must name the columns, including sku, name and price. Missing: name, price."
        );
        assert_eq!(sniff_csv(b"sku;name;price\nP-1;a;1\n"), Err(SniffError::WrongSeparator));
        assert_eq!(sniff_csv(b"\"SKU\",\"Name\",\"Price\"\n"), Ok(()));
    }

    #[test]
    fn size_cap() {
        let header = "sku,name,price,description\nP-1,Thing,1,";
        let mut exact = header.as_bytes().to_vec();
        exact.resize(MAX_IMPORT_BYTES, b'x');
        assert_eq!(exact.len(), MAX_IMPORT_BYTES);
        assert_eq!(sniff_csv(&exact), Ok(()));
        let mut over = exact.clone();
        over.push(b'x');
        assert_eq!(sniff_csv(&over), Err(SniffError::TooLarge));
        let preview = parse_csv(&over);
        assert!(!preview.is_valid());
        assert_eq!(
            preview.file_errors,
            ["The file is larger than 2 MB. Split it into smaller files and upload them one at a time."]
        );
        let mut json = b"[".to_vec();
        json.resize(MAX_IMPORT_BYTES + 1, b' ');
        assert_eq!(drafts_from_json(&json).file_errors, [SniffError::TooLarge.to_string()]);
    }

    #[test]
    fn json_feed_as_array() {
        let feed = r#"[
            {"sku": "SAREE-001", "name": "Tangail cotton saree", "name_bn": "টাঙ্গাইল সুতি শাড়ি",
             "price": 2500.5, "sale_price": "2,200", "stock": 12, "tags": ["saree", " Cotton ", "saree"],
             "active": true, "image_urls": ["https://example.com/a.jpg"],
             "variants": [
                {"size": "Free", "colour": "Red", "price_delta": 0, "stock": 5},
                {"size": "Free", "color": "Blue", "price_delta": "-50", "stock": "made to order"}
             ]},
            {"SKU": "CAKE-001", "Name": "Cake", "price": "১৮০০", "stock": null, "tags": "cake; birthday",
             "active": "no", "image_urls": "https://example.com/1.jpg https://example.com/2.jpg"},
            {"sku": "SAREE-002", "name": "Saree two", "price": 1000},
            {"variant_of": "SAREE-002", "size": "L"}
        ]"#;
        let preview = drafts_from_json(feed.as_bytes());
        assert!(preview.is_valid(), "{preview:#?}");
        assert_eq!(preview.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 2, 3, 4]);
        let saree = &preview.products[0];
        assert_eq!(saree.price, Money::from_minor(250_050));
        assert_eq!(saree.sale_price, Some(Money::from_minor(220_000)));
        assert_eq!(saree.name_bn.as_deref(), Some("টাঙ্গাইল সুতি শাড়ি"));
        assert_eq!(saree.tags, ["saree", "Cotton"]);
        assert_eq!(saree.variants.len(), 2);
        assert_eq!(saree.variants[1].colour, "Blue");
        assert_eq!(saree.variants[1].price_delta, Money::from_minor(-5_000));
        assert_eq!(saree.variants[1].stock, Stock::MadeToOrder);
        let cake = &preview.products[1];
        assert_eq!(cake.sku, "CAKE-001");
        assert_eq!(cake.price, Money::from_minor(180_000));
        assert_eq!(cake.stock, Stock::MadeToOrder);
        assert_eq!(cake.tags, ["cake", "birthday"]);
        assert!(!cake.active);
        assert_eq!(cake.image_urls.len(), 2);
        assert_eq!(preview.products[2].variants[0].size, "L");
    }

    #[test]
    fn json_feed_as_object_and_its_errors() {
        let feed = r#"{"products": [
            {"sku": "A-1", "name": "One", "price": 100},
            {"sku": "A-1", "name": "Again", "price": 100},
            {"sku": "B-1", "name": "Two", "price": 12.345, "weight": 5},
            "not an object",
            {"sku": "C-1", "name": "Three", "price": 100, "variants": [
                {"size": "M"}, {"size": "m"}, {"colour": "Red", "sku": "C-1-RED", "barcode": "1"}, 7
            ]},
            {"sku": "D-1", "name": {"en": "x"}, "price": 100, "tags": [1, {"x": 1}]}
        ], "version": 1}"#;
        let preview = drafts_from_json(feed.as_bytes());
        assert!(!preview.is_valid());
        assert!(preview.file_errors.is_empty());
        let bad = errors_of(&preview);
        assert_eq!(bad.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [2, 3, 4, 5, 6]);
        assert_eq!(bad[0].1, ["SKU A-1 already appears on item 1."]);
        assert!(
            bad[1].1.iter().any(|e| e.starts_with("Unknown fields: weight.")),
            "{:?}",
            bad[1].1
        );
        assert!(
            bad[1].1.iter().any(|e| e.starts_with("price: Use at most 2 digits")),
            "{:?}",
            bad[1].1
        );
        assert!(bad[2].1[0].starts_with("This item is not an object."));
        assert_eq!(
            bad[3].1,
            [
                "variant 3: Unknown field barcode. Variants must be a list of objects with size, colour, price_delta and stock.",
                "variant 4: Variants must be a list of objects with size, colour, price_delta and stock.",
                "variant 2: The variant size m is already listed for C-1 on item 5.",
            ]
        );
        assert!(
            bad[4].1.contains(&"name: Give this as text or a number.".to_owned()),
            "{:?}",
            bad[4].1
        );
        assert!(
            bad[4]
                .1
                .contains(&"tags: Each item in the list must be text.".to_owned()),
            "{:?}",
            bad[4].1
        );
        let c1 = preview.products.iter().find(|p| p.sku == "C-1").unwrap();
        assert_eq!(c1.variants.len(), 1);

        for shape in [r#"{"items": []}"#, "42", r#""x""#] {
            assert_eq!(drafts_from_json(shape.as_bytes()).file_errors, [JSON_SHAPE], "{shape}");
        }
        assert_eq!(drafts_from_json(b"[]").file_errors, ["The feed has no products."]);
        let broken = drafts_from_json(b"[{\"sku\": ");
        assert!(broken.file_errors[0].starts_with("The product feed is not valid JSON:"));
        let with_bom = drafts_from_json(b"\xEF\xBB\xBF[{\"sku\":\"A\",\"name\":\"B\",\"price\":\"1\"}]");
        assert!(with_bom.is_valid());
        let control = drafts_from_json(br#"[{"sku":"A","name":"B\u0000","price":1,"description":"a\u0007"}]"#);
        assert_eq!(
            control.rows[0].errors,
            [
                "name: Keep this on one line, without tabs or line breaks.",
                "description: Remove the hidden control characters."
            ]
        );
    }

    #[test]
    fn preview_round_trips_through_json() {
        // The store keeps previews as JSON between upload and confirm.
        let preview = parse_csv(TEMPLATE_CSV.as_bytes());
        let json = serde_json::to_string(&preview).unwrap();
        assert_eq!(serde_json::from_str::<CsvPreview>(&json).unwrap(), preview);
    }
}
