//! The experiments: recipes that compose data, models, training and attacks into a report.

pub mod cifar;
pub mod fashion;
pub mod toy;
