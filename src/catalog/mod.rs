//! The catalog the reply engine is grounded in: money, products, imports.

pub mod csv_import;
pub mod demo;
pub mod grounding;
pub mod money;
pub mod shop_file;
pub mod store;
