//! Rules for what arrives from a browser before any feature sees it: the
//! characters a form field may hold ([`text`]) and the page numbers a list
//! accepts ([`page`]). Pure: plain values in, plain values out.

pub mod page;
pub mod text;
