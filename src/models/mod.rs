//! The networks, as burn `Module`s and nothing else.

mod cnn;
mod mlp;

pub use cnn::{Cnn, CnnShape, Preset};
pub use mlp::Mlp;
