//! How a kernel may use threads ([`Par`]), in a module of its own so that the field and the
//! pair kernels both depend on it rather than on each other.

/// How a kernel may use threads. Results are the same bits whichever is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Par {
    /// The calling thread only.
    Seq,
    /// The current rayon pool.
    #[default]
    Rayon,
}
