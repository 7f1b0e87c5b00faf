//! The ecosystem's formats as pure data, every parser fuzzed: the in-toto statement with the OMS
//! predicate ([`statement`]), the DSSE envelope ([`dsse`]) and the Sigstore bundle v0.3
//! ([`bundle`]). Nothing here touches the network, the file system beyond bounded reads, or trust.

pub mod bundle;
pub mod dsse;
pub mod statement;
pub mod x509;
